"""Point-wise and event-wise metrics against labels, with a random baseline beside them.

Point-wise: ROC AUC and average precision (area under the precision-recall curve, scikit-learn's
step-wise definition) on the scores; precision, recall and F1 on the flags. Event-wise: a labelled
event (a run of 1s) is *found* when any flagged point falls inside it; a predicted event (a run of
flags) is *false* when it touches no labelled event; the delay of a found event is the number of
steps from its start to its first flag, averaged over found events.

Points whose label is NaN are dropped before anything is counted (so runs on either side of an
unlabelled gap join). Undefined ratios follow scikit-learn's ``zero_division=0``: precision is 0 with
no flags, recall is 0 with no positives; AUCs are NaN when only one class is present, and the mean
delay is NaN when no event is found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

METRICS: tuple[str, ...] = (
    "auc_roc",
    "auc_pr",
    "precision",
    "recall",
    "f1",
    "event_precision",
    "event_recall",
    "event_f1",
    "mean_delay_steps",
)


def evaluate(
    labels: Any, scores: Any, flags: Any, *, seed: int = 0, events: Any = None
) -> dict[str, float]:
    """Metrics for ``scores``/``flags`` against 0/1 ``labels``, plus ``random_<metric>`` for each.

    ``events``, when given, is a boolean mask of the readings inside the detection's events (flags
    with the gaps the events bridge, ``Detection.event_mask()``): the event-wise metrics then count
    the events a person is shown rather than bare runs of flags. The random baseline draws uniform
    scores (seeded) and flags the same number of points as ``flags`` does, the highest random
    scores first; its events are its runs of flags. Series are aligned on their index; arrays must
    have equal length.
    """
    y, s, f = _prepare(labels, scores, flags)
    out = _metrics(y, s, f)
    if events is not None:
        _, _, spans = _prepare(labels, scores, events)
        out.update(_event_metrics(y, spans))
    rng = np.random.default_rng(seed)
    r = rng.random(y.size)
    rf = np.zeros(y.size, dtype=bool)
    n_flag = int(f.sum())
    if n_flag:
        rf[np.argsort(-r, kind="stable")[:n_flag]] = True
    out.update({f"random_{k}": v for k, v in _metrics(y, r, rf).items()})
    return out


def labels_from_windows(index: pd.DatetimeIndex, windows: Sequence[Sequence[Any]]) -> pd.Series:
    """0/1 labels on ``index``: 1 where ``start <= t <= end`` for any [start, end] window (NAB)."""
    label = np.zeros(len(index))
    for start, end in windows:
        lo, hi = _stamp(start, index), _stamp(end, index)
        label[(index >= lo) & (index <= hi)] = 1.0
    return pd.Series(label, index=index, name="label")


def simulated_feedback(labels: pd.Series, flags: pd.Series, until: Any) -> pd.Series:
    """What a person reviewing a meter up to ``until`` would have said, from a file's labels.

    Before ``until``: every labelled anomaly (a run of 1s) is confirmed (1.0, flagged or marked as
    missed), every run of flags that touches no labelled anomaly is dismissed (0.0); the rest, and
    everything from ``until`` on, is unknown (NaN). This is the feedback ``python -m core evaluate
    --train-labels-until`` gives the learned detector.
    """
    index = labels.index
    before = index < _stamp(until, index)
    y = labels.to_numpy(dtype=float)
    f = flags.reindex(index).fillna(False).to_numpy(dtype=bool)
    out = np.full(len(index), np.nan)
    positive = (y == 1.0) & before
    out[positive] = 1.0
    cy = np.r_[0, np.cumsum(y == 1.0)]
    for a, b in zip(*runs(f & before), strict=True):
        if cy[b] - cy[a] == 0:
            out[a:b] = 0.0
    return pd.Series(out, index=index, name="feedback")


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) positions of each run of True in a boolean array."""
    edges = np.diff(np.concatenate(([0], np.asarray(mask, dtype=np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


# ---- internals ----------------------------------------------------------------------------------
def _stamp(value: Any, index: pd.DatetimeIndex) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if index.tz is not None and ts.tzinfo is None:
        ts = ts.tz_localize(index.tz)
    return ts


def _prepare(labels: Any, scores: Any, flags: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if isinstance(labels, pd.Series):
        index = labels.index
        scores = scores.reindex(index) if isinstance(scores, pd.Series) else scores
        flags = flags.reindex(index) if isinstance(flags, pd.Series) else flags
    y = np.asarray(labels, dtype=float)
    s = np.asarray(scores, dtype=float)
    f = pd.Series(np.asarray(flags)).fillna(False).to_numpy(dtype=bool)
    if not (y.shape == s.shape == f.shape) or y.ndim != 1:
        raise ValueError(
            f"labels, scores and flags must be 1-D and of one length, got {y.shape}, {s.shape}, "
            f"{f.shape}"
        )
    known = np.isfinite(y)
    y, s, f = y[known], s[known], f[known]
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1 (NaN for unknown)")
    # an undefined score ranks below every defined one and is never a flag
    low = np.nanmin(s) - 1.0 if np.isfinite(s).any() else 0.0
    s = np.where(np.isfinite(s), s, low)
    return y.astype(bool), s, f


def _metrics(y: np.ndarray, s: np.ndarray, f: np.ndarray) -> dict[str, float]:
    out = {"auc_roc": _auc_roc(y, s), "auc_pr": _average_precision(y, s)}
    out.update(zip(("precision", "recall", "f1"), _prf(y, f), strict=True))
    out.update(_event_metrics(y, f))
    return out


def _prf(y: np.ndarray, f: np.ndarray) -> tuple[float, float, float]:
    tp = float((y & f).sum())
    precision = tp / f.sum() if f.sum() else 0.0
    recall = tp / y.sum() if y.sum() else 0.0
    return precision, recall, _f1(precision, recall)


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _auc_roc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney U with mid-ranks for ties, the same number as ``roc_auc_score``."""
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size)
    sorted_s = s[order]
    first = np.r_[True, sorted_s[1:] != sorted_s[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], s.size]
    ranks[order] = ((starts + ends + 1) / 2.0)[group]  # mean 1-based rank of each tie group
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def _average_precision(y: np.ndarray, s: np.ndarray) -> float:
    """Sum over distinct thresholds of (R_n - R_n-1) * P_n, as ``average_precision_score``."""
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]  # the last point of each tie group
    tp = np.cumsum(y_sorted)[last]
    n = (np.arange(1, s.size + 1))[last]
    precision = tp / n
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _event_metrics(y: np.ndarray, f: np.ndarray) -> dict[str, float]:
    l_start, l_stop = runs(y)
    p_start, p_stop = runs(f)
    # prefix sums answer "any flag in [a, b)" and "any label in [a, b)" for all runs at once
    cf = np.r_[0, np.cumsum(f)]
    cy = np.r_[0, np.cumsum(y)]
    found = cf[l_stop] - cf[l_start] > 0
    true_pred = cy[p_stop] - cy[p_start] > 0
    precision = float(true_pred.mean()) if p_start.size else 0.0
    recall = float(found.mean()) if l_start.size else 0.0
    delays = [int(np.argmax(f[a:b])) for a, b in zip(l_start[found], l_stop[found], strict=True)]
    return {
        "event_precision": precision,
        "event_recall": recall,
        "event_f1": _f1(precision, recall),
        "mean_delay_steps": float(np.mean(delays)) if delays else float("nan"),
    }
