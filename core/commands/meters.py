"""``python -m core meters import|list|export|delete``: meters saved in the database.

``import FILE --meter NAME`` reads FILE as an upload would be read and merges its readings into the
stored meter NAME (created on first import) in one transaction, printing what happened as JSON:
readings ``inserted``, ``unchanged`` (already stored: re-importing a file changes nothing) and
``conflicting`` (stored with another value: ``--on-conflict keep`` leaves them, ``replace`` takes
the file's, ``skip`` imports nothing), and the first conflicting timestamps. The file's bytes are
kept under ``WATTSUP_HOME/blobs``. ``list`` prints the meters as JSON; ``export NAME`` writes the
readings as CSV (stdout, or ``--out FILE``; ``.parquet`` for Parquet); ``delete NAME`` removes a
meter with all its data. The database is ``WATTSUP_DATABASE_URL``, else ``WATTSUP_HOME/wattsup.db``
(see ``core.store.db``). Every action works on the default organisation's meters, or with
``--org ORG`` on that organisation's (an organisation this database lacks: one line, exit 2).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from core.commands import add_org_argument, org_owner, read_dataset
from core.errors import DataError
from core.store.db import open_store
from core.store.meters import POLICIES, SqlMeterRepository
from core.store.uploads import Upload


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "meters",
        help="import, list, export or delete the meters saved in the database",
        description="Meters saved in the WattsUp database (WATTSUP_DATABASE_URL, else "
        "WATTSUP_HOME/wattsup.db).",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = actions.add_parser(
        "import",
        help="merge a file's readings into a stored meter (JSON report)",
        description="Read FILE and merge its readings into meter NAME by timestamp, in one "
        "transaction. Re-importing changes nothing.",
    )
    imp.add_argument("file", metavar="FILE", help="meter data file (CSV, JSON or Parquet)")
    imp.add_argument("--meter", required=True, metavar="NAME", help="the stored meter's name")
    imp.add_argument("--timestamp-col", metavar="C", help="timestamp column (default: inferred)")
    imp.add_argument("--value-col", metavar="V", help="value column (default: inferred)")
    imp.add_argument(
        "--source-meter", metavar="ID", help="the meter id to read in a long-format file"
    )
    imp.add_argument("--unit", help="unit of the values: Wh, kWh, MWh, W, kW, MW")
    imp.add_argument("--freq", metavar="STEP", help="resample to this step, e.g. 15min, 1h, 1D")
    imp.add_argument(
        "--on-conflict",
        choices=POLICIES,
        default="keep",
        help="readings stored with another value: keep them (default), replace them with the "
        "file's, or skip the whole import",
    )
    actions.add_parser("list", help="print the stored meters as JSON")
    exp = actions.add_parser("export", help="write a meter's readings as CSV or Parquet")
    exp.add_argument("name", metavar="NAME")
    exp.add_argument("--out", metavar="FILE", help="write here (.csv or .parquet), not stdout")
    rm = actions.add_parser("delete", help="delete a meter with its readings and uploads")
    rm.add_argument("name", metavar="NAME")
    add_org_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "import":
        # read first: a bad file is reported without touching the database
        dataset = read_dataset(_reading_args(args))
        data = Path(args.file).read_bytes()
    repo = SqlMeterRepository(open_store())
    try:
        owner = org_owner(repo.store, args.org)
        if args.action == "import":
            result = repo.import_frame(
                args.meter,
                dataset.frame,
                unit=dataset.unit,
                step=dataset.freq,
                on_conflict=args.on_conflict,
                owner=owner,
                upload=Upload(
                    data,
                    Path(args.file).name,
                    dataclasses.asdict(dataset.schema),
                    dataset.report.to_dict(),
                ),
            )
            _print_json(result.to_dict())
        elif args.action == "list":
            _print_json([m.to_dict() for m in repo.list(owner=owner)])
        elif args.action == "export":
            _export(repo, args.name, args.out, owner)
        else:
            count = repo.delete(args.name, owner=owner)
            print(f"deleted meter {args.name} and its {count} readings")
    finally:
        repo.store.close()
    return 0


def _reading_args(args: argparse.Namespace) -> argparse.Namespace:
    """The options ``read_dataset`` knows (its --meter is the id inside a long-format file)."""
    return argparse.Namespace(
        file=args.file,
        timestamp_col=args.timestamp_col,
        value_col=args.value_col,
        meter=args.source_meter,
        unit=args.unit,
        freq=args.freq,
    )


def _export(repo: SqlMeterRepository, name: str, out: str | None, owner: str | None) -> None:
    frame = repo.load(name, owner=owner)
    if out is None:
        frame.to_csv(sys.stdout, index_label="timestamp")
        return
    path = Path(out)
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise DataError(f"--out {out}: give a .csv or .parquet file name.")
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index_label="timestamp")
    print(f"{len(frame)} readings of {name} written to {path}")


def _print_json(payload) -> None:
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
