"""``python -m core worker [--once]``: the process that scores meters on a schedule and sends alerts.

Without ``--once`` it runs until SIGINT / SIGTERM: a short poll scores a meter within seconds of a
push, a full pass every few minutes, daily forecasts and retraining by policy (``core.jobs``). One
worker per database is active (a lease in the database); another started on the same database
stands by, says so in its log, and takes over when the active one stops renewing the lease.
``--once`` runs every due job once and exits, printing what it did as one JSON line (for cron and
tests); standing by is not an error (exit 0, ``"standing_by": true``). The log goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import timedelta

from core.commands import add_threshold_arguments, check_detector, threshold_settings
from core.errors import DataError
from core.store.db import open_store


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "worker",
        help="score meters on a schedule, send alerts, refresh forecasts, retrain models",
        description="The WattsUp worker on WATTSUP_DATABASE_URL (else WATTSUP_HOME/wattsup.db).",
    )
    p.add_argument("--once", action="store_true", help="run every due job once and exit (JSON)")
    p.add_argument("--no-alerts", action="store_true", help="score and record, send nothing")
    p.add_argument("--detector", default="ensemble", help="detector (default: ensemble)")
    add_threshold_arguments(p)
    p.add_argument("--poll-seconds", type=float, default=2.0, metavar="S", help="default: 2")
    p.add_argument("--score-every", type=float, default=300.0, metavar="S", help="default: 300")
    p.add_argument("--lease-seconds", type=float, default=60.0, metavar="S", help="default: 60")
    p.add_argument(
        "--processes", type=int, default=1, metavar="N", help="score big passes in N processes"
    )
    p.add_argument("--retrain-days", type=float, default=7.0, metavar="D", help="model age limit")
    p.add_argument("--train-days", type=float, default=56.0, metavar="D", help="fit window")
    p.add_argument("--backfill-days", type=float, default=7.0, metavar="D", help="first pass")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.jobs.dispatch import alerts_dispatch, no_dispatch
    from core.jobs.policy import JobPolicy
    from core.jobs.worker import Worker
    from core.quiet import quiet_libraries

    quiet_libraries()
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # "Context impl SQLiteImpl" on start; "Running job ..." every poll and "skipped: maximum number
    # of running instances" whenever a poll falls due during a long pass (max_instances=1 at work)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    check_detector(args.detector)
    try:
        policy = JobPolicy(
            detector=args.detector,
            threshold=threshold_settings(args),
            poll_every_s=args.poll_seconds,
            score_every_s=args.score_every,
            lease_ttl_s=args.lease_seconds,
            retrain_after=timedelta(days=args.retrain_days),
            train_days=args.train_days,
            min_train_days=min(14.0, args.train_days),
            backfill_days=args.backfill_days,
        )
    except ValueError as err:
        raise DataError(f"worker settings: {err}") from err
    store = open_store()
    try:
        if args.processes < 1:
            raise DataError(f"--processes takes a whole number >= 1, got {args.processes}.")
        worker = Worker(
            store,
            no_dispatch if args.no_alerts else alerts_dispatch(),
            policy,
            processes=args.processes,
            dispatch_name="none" if args.no_alerts else "alerts",
        )
        if args.once:
            print(json.dumps(worker.run_once().to_dict()), flush=True)
        else:
            worker.run_forever()
    finally:
        store.close()
    return 0
