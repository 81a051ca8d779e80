"""``python -m core detect FILE``: fit (or load) a detector, threshold its scores, list the events.

The same detection run as the Anomaly detection page (``core.detect.run.run_detection``: models are
cached under ``models/``).
Events are printed as a table, or written as CSV with ``--out`` (text cells that a spreadsheet would run
as a formula get a leading apostrophe).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from core.commands import (
    add_input_arguments,
    add_threshold_arguments,
    read_dataset,
    threshold_settings,
)
from core.ingest.data import DataError

TABLE_COLUMNS = (
    "event_id",
    "start",
    "end",
    "duration_h",
    "type",
    "excess",
    "peak_score",
    "mean_score",
    "cause",
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "detect",
        help="find anomalous events in a meter data file",
        description="Fit a detector on FILE (or load the saved model for the same data and settings), "
        "flag points whose calibrated score passes the threshold, and list the events: start, end, "
        "type, excess energy and a one-line cause.",
    )
    add_input_arguments(p)
    p.add_argument(
        "--detector", default="ensemble", metavar="NAME", help="detector (default: ensemble)"
    )
    add_threshold_arguments(p)
    p.add_argument(
        "--out", metavar="CSV", help="write the events to this CSV instead of printing them"
    )
    p.add_argument(
        "--scores", metavar="CSV", help="also write every point's scores and flag to CSV"
    )
    p.set_defaults(func=run)


def check_detectors(names: list[str]) -> str | None:
    """An error line when a name is not registered, else None."""
    from core.detect.detectors import REGISTRY

    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        return f"unknown detector {', '.join(unknown)}; choose from {', '.join(sorted(REGISTRY))}"
    return None


def run(args: argparse.Namespace) -> int:
    from core.detect.pipeline import DetectorSettings
    from core.detect.run import run_detection

    if (problem := check_detectors([args.detector])) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    settings = threshold_settings(args)
    ds = read_dataset(args)
    try:
        result = run_detection(
            ds.frame,
            DetectorSettings(args.detector),
            settings,
            freq=ds.freq,
            unit=ds.unit,
            digest=ds.digest,
        )
    except ValueError as err:
        raise DataError(f"{args.detector} cannot learn from {ds.name}: {err}") from err
    scored, flags, events, energy = result.scored, result.flags, result.events, result.energy_unit
    if args.scores:
        from core.charts.report import flags_csv

        Path(args.scores).write_bytes(flags_csv(scored, flags, events))
    if args.out:
        from core.charts.report import csv_bytes

        Path(args.out).write_bytes(csv_bytes(events.assign(energy_unit=energy)))
        print(f"{len(events)} events written to {args.out}")
        return 0
    print(
        f"{ds.name}: {len(events)} events, {int(flags.sum())} flagged points "
        f"({args.detector}, {_describe(settings)}); excess in {energy}"
    )
    if len(events):
        print(events_table(events))
    return 0


def events_table(events: pd.DataFrame) -> str:
    """The events as an aligned text table (numbers rounded for reading)."""
    view = events[list(TABLE_COLUMNS)].copy()
    view["duration_h"] = view["duration_h"].map(lambda x: f"{x:g}")
    view["excess"] = view["excess"].map(lambda x: f"{x:,.1f}")
    for score in ("peak_score", "mean_score"):
        view[score] = view[score].map(lambda x: f"{x:.2f}")
    return view.to_string(index=False, justify="left")


def _describe(s) -> str:
    if s.mode == "sigma":
        text = f"sigma k={s.k:g}"
    elif s.mode == "percentile":
        text = f"percentile {s.percentile:g}"
    elif s.mode == "per_month":
        text = f"at most {s.alerts_per_month} events a month"
    else:
        text = "dynamic threshold"
    if s.direction != "both":
        text += f", {s.direction} only"
    return text
