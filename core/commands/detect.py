"""``python -m core detect FILE``: fit (or load) a detector, threshold its scores, list the events.

The same steps as the Anomaly detection page: ``parse_upload`` -> ``pipeline.fit_detector`` (models
are cached under ``models/``) -> ``score_frame`` -> ``thresholds.flag_points`` -> ``events.find_events``.
Events are printed as a table, or written as CSV with ``--out`` (text cells that a spreadsheet would run
as a formula get a leading apostrophe).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from core.commands import add_input_arguments, read_dataset
from core.detect.thresholds import DIRECTIONS, MODES
from core.ingest.data import DataError

TABLE_COLUMNS = ("event_id", "start", "end", "duration_h", "type", "excess", "peak_score", "cause")


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
    p.add_argument(
        "--threshold",
        type=float,
        metavar="K",
        help="sigma mode: flag calibrated scores above K (default: the detectors' DEFAULT_K)",
    )
    p.add_argument("--mode", choices=MODES, default="sigma", help="threshold mode (default: sigma)")
    p.add_argument("--percentile", type=float, default=99.0, help="percentile mode: flag above it")
    p.add_argument(
        "--alerts-per-month", type=int, default=10, metavar="N", help="per_month mode: event budget"
    )
    p.add_argument(
        "--direction", choices=DIRECTIONS, default="both", help="over-use, under-use or both"
    )
    p.add_argument(
        "--min-deviation",
        type=float,
        default=0.0,
        metavar="X",
        help="ignore |actual - expected| < X",
    )
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
    from core.detect.events import find_events
    from core.detect.pipeline import DetectorSettings, fit_detector, score_frame
    from core.detect.thresholds import ThresholdSettings, flag_points

    if (problem := check_detectors([args.detector])) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        settings = ThresholdSettings(
            mode=args.mode,
            percentile=args.percentile,
            alerts_per_month=args.alerts_per_month,
            direction=args.direction,
            min_deviation=args.min_deviation,
            **({} if args.threshold is None else {"k": args.threshold}),
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    ds = read_dataset(args)
    frame = ds.frame.drop(columns="label", errors="ignore")  # labels never reach a detector
    try:
        det = fit_detector(frame, ds.digest, DetectorSettings(args.detector))
    except ValueError as err:
        raise DataError(f"{args.detector} cannot learn from {ds.name}: {err}") from err
    scored = score_frame(det, frame)
    flags = flag_points(scored, settings)
    events = find_events(scored, flags, freq=ds.freq, unit=ds.unit)
    energy = events.attrs.get("energy_unit", ds.unit)
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
    view["peak_score"] = view["peak_score"].map(lambda x: f"{x:.2f}")
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
