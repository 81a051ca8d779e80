"""``python -m core evaluate FILE``: score detectors against the file's labels, beside a random baseline.

Each detector is fitted on FILE itself without its labels (unsupervised: labels are never used for
fitting or for choosing the threshold), scored, and flagged at the default threshold (sigma mode,
``DEFAULT_K``). Prints a JSON list, one object per detector (ensemble first). Labels come from the
file's label column (``--label-col``, inferred by default) or from a NAB ``windows.json``
(``--windows``), keyed by the file's name.

``--train-labels-until DATE`` plays a person who reviewed the meter up to DATE: the labels before
DATE become feedback (``core.detect.evaluation.simulated_feedback``: labelled anomalies confirmed,
the ensemble's flags that touch none dismissed), the learned detector is fitted with it, and every
metric is computed on the readings from DATE on only.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from core.commands import add_input_arguments, read_dataset
from core.commands.detect import check_detectors
from core.detect.evaluation import METRICS
from core.ingest.data import DataError

OUTPUT_KEYS: tuple[str, ...] = (*METRICS, "random_auc_roc", "random_f1")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="compare detectors against the labels of a file",
        description="Fit each detector on FILE (labels unused), flag at the default threshold and "
        "print point-wise and event-wise metrics beside a random baseline, as JSON.",
    )
    add_input_arguments(p)
    p.add_argument(
        "--label-col", metavar="L", help="0/1 label column (default: inferred, e.g. anomaly)"
    )
    p.add_argument(
        "--detector",
        action="append",
        metavar="NAME",
        help="detector to evaluate; repeat for several (default: every registered one)",
    )
    p.add_argument(
        "--windows", metavar="JSON", help="NAB windows.json: labels for FILE by its name"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random baseline (default: 0)")
    p.add_argument(
        "--train-labels-until",
        metavar="DATE",
        help="give the labels before DATE as a person's feedback (to the learned detector) and "
        "compute metrics from DATE on only",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.detect.detectors import REGISTRY

    names = args.detector or _default_order(REGISTRY)
    if (problem := check_detectors(names)) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    ds = read_dataset(args, label_col=args.label_col)
    labels = _labels(ds, args)
    frame = ds.frame.drop(columns="label", errors="ignore")  # labels never reach a detector
    feedback, until = None, None
    if args.train_labels_until:
        until = _until(args.train_labels_until, labels.index)
        feedback = _feedback(frame, ds, labels, until)
    results = [
        _evaluate_one(
            name,
            frame,
            ds.digest,
            labels,
            args.seed,
            freq=ds.freq,
            unit=ds.unit,
            feedback=feedback,
            until=until,
        )
        for name in names
    ]
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _default_order(registry: dict[str, Any]) -> list[str]:
    return sorted(registry, key=lambda n: (n != "ensemble", list(registry).index(n)))


def _labels(ds, args: argparse.Namespace) -> pd.Series:
    from core.detect.evaluation import labels_from_windows

    if args.windows:
        path = Path(args.windows)
        try:
            windows = json.loads(path.read_text())
        except ValueError as err:
            raise DataError(f"{path} is not valid JSON: {err}") from err
        key = Path(args.file).name
        if not isinstance(windows, dict) or key not in windows:
            raise DataError(f"{path} has no windows for {key}: its keys are the data file names")
        return labels_from_windows(ds.frame.index, windows[key])
    if not ds.has_labels:
        raise DataError(
            f"{ds.name} has no labels: name a 0/1 column with --label-col or give --windows"
        )
    return ds.frame["label"]


def _until(text: str, index: pd.DatetimeIndex) -> pd.Timestamp:
    """DATE as a time on the file's clock; a DataError when it is no date or leaves nothing after."""
    try:
        until = pd.Timestamp(text)
    except ValueError as err:
        raise DataError(
            f"--train-labels-until {text!r} is not a date: use e.g. 2016-04-01"
        ) from err
    if index.tz is not None and until.tzinfo is None:
        until = until.tz_localize(index.tz)
    if not index[0] < until <= index[-1]:
        raise DataError(
            f"--train-labels-until {text} is outside the file ({index[0]} to {index[-1]}): "
            "choose a date inside it, so there is data on both sides"
        )
    return until


def _feedback(frame: pd.DataFrame, ds, labels: pd.Series, until: pd.Timestamp) -> pd.Series:
    """The feedback a person reviewing the ensemble's flags up to ``until`` would have given."""
    from core.detect.evaluation import simulated_feedback
    from core.detect.pipeline import DetectorSettings, fit_detector
    from core.detect.run import run_detection
    from core.detect.thresholds import ThresholdSettings

    settings = DetectorSettings("ensemble")
    det = fit_detector(frame, ds.digest, settings)
    flags = run_detection(
        frame, settings, ThresholdSettings(), freq=ds.freq, unit=ds.unit, detector=det
    ).flags
    return simulated_feedback(labels, flags, until)


def _evaluate_one(
    name: str,
    frame: pd.DataFrame,
    digest: str,
    labels: pd.Series,
    seed: int,
    *,
    freq: pd.Timedelta,
    unit: str,
    feedback: pd.Series | None = None,
    until: pd.Timestamp | None = None,
) -> dict[str, Any]:
    from core.detect.evaluation import evaluate
    from core.detect.pipeline import DetectorSettings, fit_detector, labelled_digest, saved_meta
    from core.detect.run import run_detection
    from core.detect.thresholds import ThresholdSettings

    settings = DetectorSettings(name)
    start = time.perf_counter()
    try:
        det = fit_detector(frame, digest, settings, labels=feedback)
    except ValueError as err:
        raise DataError(f"{name} cannot learn from this file: {err}") from err
    fit_seconds = time.perf_counter() - start
    # a model loaded from disk reports the seconds its original fit took
    fit_seconds = saved_meta(labelled_digest(digest, feedback), settings).get(
        "fit_seconds", fit_seconds
    )
    start = time.perf_counter()
    result = run_detection(frame, settings, ThresholdSettings(), freq=freq, unit=unit, detector=det)
    score_seconds = time.perf_counter() - start
    scored, flags, spans = result.scored, result.flags, result.event_mask()
    if until is not None:  # metrics on the readings nobody gave feedback on
        after = labels.index >= until
        labels, scored, flags, spans = labels[after], scored[after], flags[after], spans[after]
    metrics = evaluate(labels, scored["score"], flags, seed=seed, events=spans)
    out: dict[str, Any] = {"detector": name}
    if getattr(det, "shortfall_", ""):
        out["note"] = det.shortfall_
    out.update({k: _number(metrics[k]) for k in OUTPUT_KEYS})
    out["fit_seconds"] = round(float(fit_seconds), 3)
    out["score_seconds"] = round(score_seconds, 3)
    return out


def _number(x: float) -> float | None:
    """Rounded for reading; NaN (undefined) becomes JSON null."""
    return None if x is None or not math.isfinite(x) else round(float(x), 4)
