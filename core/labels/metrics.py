"""How good the alerts were, against the user's own labels (not a dataset's).

Only labelled readings count: inside a ``real`` span a reading is an anomaly, inside a
``not_anomaly``/``expected`` span it is not, and unlabelled readings are left out (nobody said
anything about them). The counting, and the random baseline beside it, is
``core.detect.evaluation.evaluate``; runs on either side of an unlabelled stretch join there.
"""

from __future__ import annotations

import pandas as pd

from core.detect.evaluation import evaluate
from core.labels.feedback import feedback_series

SHOWN = ("precision", "recall", "f1", "event_precision", "event_recall", "event_f1")


def label_metrics(
    labels: pd.DataFrame, scored: pd.DataFrame, flags: pd.Series, *, seed: int = 0
) -> dict[str, float]:
    """``SHOWN`` metrics and their ``random_`` twins on the labelled readings, plus ``n_labels``,
    ``labelled_points`` and ``positive_points``; empty metrics (NaN) without any labelled reading."""
    y = feedback_series(scored.index, labels)
    known = y.notna()
    out: dict[str, float] = {
        "n_labels": float(0 if labels is None else len(labels)),
        "labelled_points": float(known.sum()),
        "positive_points": float((y == 1).sum()),
    }
    if not known.any():
        return out | {k: float("nan") for k in SHOWN} | {f"random_{k}": float("nan") for k in SHOWN}
    m = evaluate(y[known], scored["score"][known], flags[known], seed=seed)
    return out | {k: m[k] for k in SHOWN} | {f"random_{k}": m[f"random_{k}"] for k in SHOWN}
