"""``python -m core fleet score SOURCE | runs``: score a whole fleet of meters, rank them by waste.

``score SOURCE`` scores every meter of SOURCE with one detector and threshold (the Anomaly
detection page's defaults unless given) and prints a summary: meters scored and failed, events, the
largest wasters, each failure's one-line reason. SOURCE is ``meters`` (the meters saved in the
database), a file (one meter, or a long-format file with a meter column such as LEAD's
``building_id``: one meter per id), or a folder of such files. Each meter's portfolio row is stored
as a fleet run in the database (``--no-store`` to skip), and written to ``--out`` (CSV) and its
events to ``--events`` (CSV) as it finishes. Meters run on Dask: a local cluster sized to the
machine, or the cluster at ``--scheduler`` / ``WATTSUP_DASK_SCHEDULER`` (``tcp://host:8786``);
``--runner local`` scores them in this process. ``runs`` prints the stored fleet runs as JSON.
Bad input (a missing path, no meters, an unreachable scheduler) exits 2 with one line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.charts.report import escape_cell
from core.commands import add_threshold_arguments, check_detector, threshold_settings
from core.detect.pipeline import DetectorSettings
from core.errors import DataError
from core.fleet.portfolio import FleetSettings
from core.fleet.run import run_fleet
from core.fleet.runner import BATCH_SIZE, RUNNERS, Outcome
from core.fleet.sources import Source, file_source, stored_meters
from core.store.db import open_store
from core.store.fleet import SqlFleetRepository

SAVED = "meters"  # SOURCE naming the saved meters


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "fleet",
        help="score many meters at once (Dask) and rank them by wasted energy",
        description="Score a fleet of meters: the saved ones, a long-format file or a folder.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    score = actions.add_parser(
        "score",
        help="score every meter of SOURCE and print a summary",
        description="Score every meter of SOURCE ('meters' for the saved meters, a file, or a "
        "folder of files) and store the portfolio as a fleet run.",
    )
    score.add_argument("source", metavar="SOURCE", help="'meters', a data file or a folder")
    score.add_argument("--out", metavar="CSV", help="write the portfolio here, a row per meter")
    score.add_argument("--events", metavar="CSV", help="write every meter's events here")
    score.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler, e.g. tcp://host:8786 (default: WATTSUP_DASK_SCHEDULER, "
        "else a local cluster sized to this machine)",
    )
    score.add_argument("--runner", choices=RUNNERS, default="dask", help="dask (default) or local")
    score.add_argument("--workers", type=int, metavar="N", help="local cluster: worker processes")
    score.add_argument(
        "--batch-size", type=int, default=BATCH_SIZE, metavar="N", help="meters per Dask task"
    )
    score.add_argument(
        "--tariff", type=float, metavar="PRICE", help="price per kWh: adds the over-use cost"
    )
    score.add_argument("--detector", default="ensemble", help="detector (default: ensemble)")
    score.add_argument("--no-store", action="store_true", help="do not store the run")
    add_threshold_arguments(score)
    actions.add_parser("runs", help="print the stored fleet runs as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "runs":
        store = open_store()
        try:
            runs = SqlFleetRepository(store).runs()
        finally:
            store.close()
        print(json.dumps([r.to_dict() for r in runs], indent=2))
        return 0
    check_detector(args.detector)
    if args.tariff is not None and not args.tariff >= 0:
        raise DataError(f"--tariff is a price per kWh >= 0, got {args.tariff:g}.")
    if args.batch_size < 1 or (args.workers is not None and args.workers < 1):
        raise DataError("--batch-size and --workers take a whole number of 1 or more.")
    settings = FleetSettings(DetectorSettings(args.detector), threshold_settings(args))
    for path in (args.out, args.events):
        if path is not None and not Path(path).parent.is_dir():
            raise DataError(f"cannot write {path}: its folder does not exist.")
    needs_store = args.source == SAVED and not Path(args.source).exists()
    store = open_store() if needs_store or not args.no_store else None
    try:
        source = _source(args.source, store)
        if source.total == 0:
            raise DataError(f"{source.description}: nothing to score.")
        summary = run_fleet(
            source,
            settings,
            repo=None if args.no_store or store is None else SqlFleetRepository(store),
            runner=args.runner,
            scheduler=args.scheduler,
            workers=args.workers,
            batch_size=args.batch_size,
            out=args.out,
            events_out=args.events,
            tariff=args.tariff,
            progress=_progress if sys.stderr.isatty() else None,
            escape=escape_cell,
        )
    finally:
        if store is not None:
            store.close()
    if summary.meters == 0:
        raise DataError(f"{summary.source}: no meter found to score.")
    if summary.scored == 0:
        name, reason = summary.failures[0]
        raise DataError(f"no meter could be scored; the first, {name}: {reason}")
    for line in summary.lines(args.tariff):
        print(line)
    if summary.run_id is not None:
        print(f"stored as fleet run {summary.run_id} (the Portfolio page shows it)")
    return 0


def _source(spec: str, store) -> Source:
    if spec == SAVED and not Path(spec).exists():
        return stored_meters(store)
    return file_source(spec)


def _progress(done: int, total: int | None, outcome: Outcome) -> None:
    of = f"/{total}" if total else ""
    mark = "failed" if outcome.error else "ok"
    print(f"\r[{done}{of}] {outcome.name}: {mark}\033[K", end="", file=sys.stderr, flush=True)
    if total and done == total:
        print(file=sys.stderr)
