"""``python -m core inspect FILE``: the quality report of a file as JSON, as the app would read it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.data import CleanOptions, DataError, Schema, parse_upload


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "inspect",
        help="print the data quality report of a CSV / JSON / Parquet file as JSON",
        description="Read FILE as an upload would be read and print its quality report as JSON: "
        "rows, start, end, step, columns, duplicates, gaps, negatives, flat runs, cumulative "
        "register, and every change cleaning would make.",
    )
    p.add_argument("file", metavar="FILE", help="meter data file (CSV, JSON or Parquet)")
    p.add_argument("--timestamp-col", metavar="C", help="timestamp column (default: inferred)")
    p.add_argument("--value-col", metavar="V", help="value column (default: inferred)")
    p.add_argument("--meter", metavar="M", help="meter id to analyse in a long-format file")
    p.add_argument("--unit", help="unit of the values: Wh, kWh, MWh, W, kW, MW")
    p.add_argument("--freq", metavar="STEP", help="resample to this step, e.g. 15min, 1h, 1D")
    p.add_argument(
        "--cumulative-to-interval",
        action="store_true",
        help="turn a cumulative meter register into use per step",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if path.is_dir():
        raise DataError(f"{path} is a folder: give the path of one CSV, JSON or Parquet file.")
    if not path.is_file():
        raise DataError(f"{path} does not exist: check the path and try again.")
    schema = Schema(
        timestamp_col=args.timestamp_col, value_col=args.value_col, meter=args.meter, unit=args.unit
    )
    options = CleanOptions(freq=args.freq, cumulative_to_interval=args.cumulative_to_interval)
    dataset = parse_upload(path.read_bytes(), path.name, schema, options)
    json.dump(dataset.report.to_dict(), sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0
