"""``python -m core retrain METER``: a new version of the meter's learned model from its labels.

Prints the new version as JSON (training period, settings, library versions, metrics on the labels).
``--versions`` lists the kept versions (newest first) instead; ``--rollback [N]`` makes version N
(default: the one before the current) current again. Old versions are kept. Not enough labels is an
error that says what is missing (exit 2).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from core.store.db import open_store


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "retrain",
        help="retrain a stored meter's learned detector from its labels (model versions)",
        description="Fit the learned detector on meter METER with its labels and keep it as the "
        "meter's next model version; or list versions / roll back.",
    )
    p.add_argument("meter", metavar="METER")
    p.add_argument("--note", help="what changed (kept with the version)")
    p.add_argument("--versions", action="store_true", help="list the versions instead")
    p.add_argument(
        "--rollback",
        nargs="?",
        const=0,
        type=int,
        metavar="N",
        help="make version N (default: the previous one) current",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.labels.retrain import retrain_meter
    from core.store.model_versions import SqlModelVersionRepository

    store = open_store()
    try:
        repo = SqlModelVersionRepository(store)
        if args.versions:
            _print([_plain(v) for v in repo.versions(args.meter)])
        elif args.rollback is not None:
            v = repo.rollback(args.meter, to_version=args.rollback or None)
            _print(_plain(v))
        else:
            done = retrain_meter(store, args.meter, note=args.note)
            _print(_plain(done.version))
    finally:
        store.close()
    return 0


def _plain(version) -> dict:
    return {
        k: (str(v) if k in ("trained_from", "trained_to", "created") else v)
        for k, v in dataclasses.asdict(version).items()
    }


def _print(payload) -> None:
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
