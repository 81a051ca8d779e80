"""``python -m core inspect FILE``: the quality report of a file as JSON, as the app would read it."""

from __future__ import annotations

import argparse
import json
import sys

from core.commands import add_input_arguments, read_dataset


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "inspect",
        help="print the data quality report of a CSV / JSON / Parquet file as JSON",
        description="Read FILE as an upload would be read and print its quality report as JSON: "
        "rows, start, end, step, columns, duplicates, gaps, negatives, flat runs, cumulative "
        "register, and every change cleaning would make.",
    )
    add_input_arguments(p)
    p.add_argument(
        "--cumulative-to-interval",
        action="store_true",
        help="turn a cumulative meter register into use per step",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    dataset = read_dataset(args, cumulative_to_interval=args.cumulative_to_interval)
    json.dump(dataset.report.to_dict(), sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0
