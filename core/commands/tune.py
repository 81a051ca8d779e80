"""``python -m core tune FILE FILE ...``: choose the detection defaults leave-one-file-out.

Each labelled file (a building, a series) is held out in turn: the threshold, the event merge gap
and the ensemble's smoothing are chosen on the other files (``core.detect.tuning``), then scored
on the held-out one. The table shows, per held-out file, what was chosen and what it scored beside
the shipped defaults and a random baseline, then the mean and the spread across files: what the
defaults can be expected to do on a meter nobody tuned them on. ``--json`` prints everything as
JSON instead. Labels come from each file's label column or from a NAB ``windows.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.commands.detect import check_detectors
from core.ingest.data import CleanOptions, DataError, Schema, parse_upload

SHOWN = ("f1", "event_f1", "random_f1", "random_event_f1", "auc_roc")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "tune",
        help="choose detection defaults leave-one-file-out on labelled files",
        description=(
            "Hold out each labelled FILE in turn, choose the threshold, event merge gap and "
            "smoothing on the others, and report what that choice scores on the held-out file "
            "beside the shipped defaults and a random baseline."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="labelled meter files (two or more)")
    p.add_argument("--windows", metavar="JSON", help="NAB windows.json: labels by file name")
    p.add_argument("--label-col", metavar="L", help="0/1 label column (default: inferred)")
    p.add_argument("--detector", default="ensemble", help="detector to tune (default: ensemble)")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.detect.tuning import leave_one_out

    if (problem := check_detectors([args.detector])) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if len(args.files) < 2:
        raise DataError("tune needs at least two labelled files: one is held out, the rest choose")
    windows = _windows(args.windows)
    files = [_labelled(Path(f), windows, args.label_col) for f in args.files]

    def progress(fraction: float, message: str) -> None:
        print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)

    result = leave_one_out(files, detector=args.detector, progress=progress)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(table(result))
    return 0


def table(result: dict) -> str:
    """The result as a Markdown table (one row per held-out file, then mean, min and max)."""
    head = (
        "| held out | chosen k | merge gap | smooth h | F1 | event F1 | F1 rnd | event F1 rnd "
        "| AUC-ROC | shipped F1 | shipped event F1 |\n" + "|---" * 11 + "|\n"
    )
    lines = [head]
    for fold in result["folds"]:
        c, m, s = fold["chosen"], fold["held_out_metrics"], fold["shipped_metrics"]
        cells = [fold["held_out"], f"{c['k']:g}", str(c["merge_gap"]), f"{c['smooth_hours']:g}"]
        cells += [f"{m[k]:.3f}" for k in SHOWN] + [f"{s['f1']:.3f}", f"{s['event_f1']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |\n")
    held, shipped = result["held_out_mean"], result["shipped_mean"]
    for stat in ("mean", "min", "max"):
        cells = [f"**{stat}**", "", "", ""]
        cells += [f"{held[k][stat]:.3f}" for k in SHOWN]
        cells += [f"{shipped['f1'][stat]:.3f}", f"{shipped['event_f1'][stat]:.3f}"]
        lines.append("| " + " | ".join(cells) + " |\n")
    every = result["chosen_on_all"]
    ship = result["shipped"]
    lines.append(
        f"\nChosen on all {len(result['files'])} files: k {every['k']:g}, merge gap "
        f"{every['merge_gap']}, smoothing {every['smooth_hours']:g} h; shipped: k {ship['k']:g}, "
        f"merge gap {ship['merge_gap']}, smoothing {ship['smooth_hours']:g} h.\n"
    )
    return "".join(lines)


def _windows(path: str | None) -> dict | None:
    if path is None:
        return None
    try:
        windows = json.loads(Path(path).read_text())
    except OSError as err:
        raise DataError(f"{path} cannot be read: {err.strerror}") from err
    except ValueError as err:
        raise DataError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(windows, dict):
        raise DataError(f"{path} must map data file names to lists of [start, end] windows")
    return {Path(k).name: v for k, v in windows.items()}


def _labelled(path: Path, windows: dict | None, label_col: str | None):
    from core.detect.evaluation import labels_from_windows
    from core.detect.tuning import Labelled

    if not path.is_file():
        raise DataError(f"{path} does not exist: check the path and try again.")
    ds = parse_upload(path.read_bytes(), path.name, Schema(label_col=label_col), CleanOptions())
    if windows is not None:
        if path.name not in windows:
            raise DataError(f"the windows file has no windows for {path.name}")
        labels = labels_from_windows(ds.frame.index, windows[path.name])
    elif ds.has_labels:
        labels = ds.frame["label"]
    else:
        raise DataError(
            f"{path.name} has no labels: name a 0/1 column with --label-col or give --windows"
        )
    frame = ds.frame.drop(columns="label", errors="ignore")
    return Labelled(path.stem, frame, labels, ds.freq, ds.unit)
