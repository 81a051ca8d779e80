"""``python -m core replay FILE --warmup-days N``: stream FILE through the live engine, print its events.

The causal twin of the detector is fitted on the first N days (never on what follows), the rest of
the file streams through ``core.live.engine.step`` in batches of ``--batch`` readings, and the events it
raised are printed as JSON: start, end, type, peak score, excess energy, cause, when the alert went
out and its delay (``core.live.replay``). This is how alert rules are backtested before going live;
the same file, detector and settings give the same events as ``core.detect.run.run_detection(...,
warmup=N)``.
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from core.commands import (
    add_input_arguments,
    add_threshold_arguments,
    check_detector,
    read_dataset,
    threshold_settings,
)
from core.errors import DataError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "replay",
        help="replay a file through live detection and list the alerts it raises",
        description="Fit the detector's causal twin on the first --warmup-days of FILE, stream the "
        "rest through the live engine and print the live events as JSON.",
    )
    add_input_arguments(p)
    p.add_argument(
        "--warmup-days",
        type=float,
        required=True,
        metavar="N",
        help="days at the start of FILE to learn from (never alerted on)",
    )
    p.add_argument(
        "--detector", default="ensemble", metavar="NAME", help="detector (default: ensemble)"
    )
    add_threshold_arguments(p)
    p.add_argument(
        "--batch",
        type=int,
        default=1,
        metavar="R",
        help="readings that arrive together, as a device pushing every R steps (default: 1)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.detect.pipeline import DetectorSettings, causal_settings, make_detector
    from core.live.engine import LiveSettings
    from core.live.replay import replay, replay_records

    check_detector(args.detector)
    threshold = threshold_settings(args)
    if args.batch < 1:
        raise DataError(f"--batch must be 1 or more readings, got {args.batch}")
    ds = read_dataset(args)
    warmup = _warmup_readings(args.warmup_days, ds.frame.index, ds.freq)
    frame = ds.frame
    settings = causal_settings(DetectorSettings(args.detector))
    print(
        f"{ds.name}: learning from {warmup:,} readings, replaying {len(frame) - warmup:,}…",
        file=sys.stderr,
    )
    try:
        detector = make_detector(settings).fit(
            frame.drop(columns="label", errors="ignore").iloc[:warmup]
        )
    except ValueError as err:
        raise DataError(
            f"{args.detector} cannot learn from the warm-up of {ds.name}: {err}"
        ) from err
    result = replay(
        frame,
        detector,
        warmup,
        LiveSettings(threshold=threshold),
        freq=ds.freq,
        unit=ds.unit,
        batch=args.batch,
    )
    json.dump(replay_records(result.events), sys.stdout, indent=2)
    sys.stdout.write("\n")
    print(
        f"{len(result.events)} live events, {int(result.flags.sum())} flagged readings "
        f"(threshold {result.state.threshold:.2f})",
        file=sys.stderr,
    )
    return 0


def _warmup_readings(days: float, index: pd.DatetimeIndex, freq: pd.Timedelta) -> int:
    """N days in readings, checked against the file: a one-line DataError when it does not fit."""
    if days <= 0:
        raise DataError(f"--warmup-days must be more than 0, got {days:g}")
    n = int(round(pd.Timedelta(days=days) / pd.Timedelta(freq)))
    span_days = (index[-1] - index[0]) / pd.Timedelta(days=1) if len(index) else 0.0
    if n < 48:
        raise DataError(
            f"--warmup-days {days:g} is {n} readings at this file's step: give at least 48 readings "
            "(e.g. --warmup-days 14 for hourly data)"
        )
    if n >= len(index) - 1:
        raise DataError(
            f"--warmup-days {days:g} covers the whole file ({span_days:.0f} days): give fewer days "
            "so some readings are left to replay"
        )
    return n
