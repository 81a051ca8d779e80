"""``python -m core labels add|list|import|export METER``: what people said about a stored meter.

``add METER --start T --end T --verdict real|not_anomaly|expected [--note] [--author]`` (or
``--event ID`` for a stored event's span); ``list METER`` prints JSON; ``export METER [--out FILE]``
writes CSV; ``import METER FILE`` reads a label CSV (``start, end, verdict`` [, ``note``,
``author``]) or, with ``--label-col COL``, a data file's 0/1 label column (runs of 1 become ``real``
spans). Every label of a file is written, or none: spans outside the meter's data, labels that
disagree with an overlapping one, unknown events and wrong columns each get one message (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.commands import read_dataset
from core.errors import DataError
from core.store.db import open_store
from core.store.labels import SqlLabelRepository, read_label_file, spans_from_column
from core.store.schema import VERDICTS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "labels",
        help="add, list, import or export the labels of a stored meter",
        description="Labels (real anomaly / not an anomaly / expected) of a stored meter.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="label one span or one stored event")
    add.add_argument("meter", metavar="METER")
    add.add_argument("--start", metavar="T", help="first labelled time, e.g. 2016-04-01T08:00")
    add.add_argument("--end", metavar="T", help="last labelled time")
    add.add_argument("--event", type=int, metavar="ID", help="label a stored event's span")
    add.add_argument("--verdict", required=True, choices=VERDICTS)
    add.add_argument("--note", help="why (optional)")
    add.add_argument("--author", help="who (optional)")
    lst = actions.add_parser("list", help="print a meter's labels as JSON")
    lst.add_argument("meter", metavar="METER")
    exp = actions.add_parser("export", help="write a meter's labels as CSV")
    exp.add_argument("meter", metavar="METER")
    exp.add_argument("--out", metavar="FILE", help="write here, not stdout")
    imp = actions.add_parser("import", help="import a label CSV or a data file's label column")
    imp.add_argument("meter", metavar="METER")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument(
        "--label-col", metavar="COL", help="read FILE as meter data and import this 0/1 column"
    )
    imp.add_argument("--author", help="who (optional)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    spans = _file_spans(args) if args.action == "import" else None  # bad files before the database
    repo = SqlLabelRepository(open_store())
    try:
        if args.action == "add":
            if args.event is None and (args.start is None or args.end is None):
                raise DataError("labels add needs --start and --end, or --event ID.")
            label_id = repo.add(
                args.meter,
                args.start,
                args.end,
                args.verdict,
                note=args.note,
                author=args.author,
                event_id=args.event,
            )
            print(json.dumps({"meter": args.meter, "label": label_id}))
        elif args.action == "list":
            frame = repo.list(args.meter)
            json.dump(
                json.loads(frame.to_json(orient="records", date_format="iso")), sys.stdout, indent=2
            )
            sys.stdout.write("\n")
        elif args.action == "export":
            text = repo.export_csv(args.meter)
            if args.out:
                Path(args.out).write_text(text)
                print(f"labels of {args.meter} written to {args.out}")
            else:
                sys.stdout.write(text)
        else:
            ids = repo.add_many(args.meter, spans, author=args.author)
            print(json.dumps({"meter": args.meter, "imported": len(ids)}))
    finally:
        repo.store.close()
    return 0


def _file_spans(args: argparse.Namespace):
    path = Path(args.file)
    if not path.is_file():
        raise DataError(f"{path} does not exist: check the path and try again.")
    if not args.label_col:
        return read_label_file(path.read_bytes(), path.name)
    reading = argparse.Namespace(
        file=args.file, timestamp_col=None, value_col=None, meter=None, unit=None, freq=None
    )
    ds = read_dataset(reading, label_col=args.label_col)
    if "label" not in ds.frame:
        raise DataError(f"{path.name} has no 0/1 column {args.label_col}: name its label column.")
    return spans_from_column(ds.frame["label"])
