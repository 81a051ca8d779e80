"""A sigma threshold suggested from the user's labels: shown beside its figures, never applied.

A suggestion has to hold up on the months after the labels, not only on them (measured in
``benchmarks.labels.suggestion_rows``, docs/benchmarks.md). So:

* the span a person reviewed (first label to last) counts whole: a reading in it nobody labelled
  is taken as normal (they saw it on the chart and marked nothing), so a lower k pays for the new
  flags it raises there;
* each candidate is ranked by the mean of point F1 and event F1 (as ``python -m core tune`` ranks);
* nothing is suggested before ``MIN_CONFIRMED`` anomalies are confirmed (as the learned detector),
  and only a k at least ``MARGIN`` better than the current one is offered; among near-equals the one
  nearest the current k wins.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from core.detect.thresholds import ThresholdSettings, flag_points
from core.labels.feedback import POSITIVE
from core.labels.metrics import label_metrics

CANDIDATES = tuple(np.round(np.arange(1.0, 5.01, 0.25), 2))  # the sigma scale's useful range
MIN_CONFIRMED = 3
MARGIN = 0.05


@dataclass(frozen=True)
class Suggestion:
    """``k`` to suggest and its F1 / event F1 on the labels, beside the current threshold's."""

    k: float
    f1: float
    event_f1: float
    current_k: float
    current_f1: float
    current_event_f1: float

    @property
    def score(self) -> float:
        return (self.f1 + self.event_f1) / 2

    @property
    def current_score(self) -> float:
        return (self.current_f1 + self.current_event_f1) / 2

    @property
    def better(self) -> bool:
        """Worth offering: at least ``MARGIN`` above the current threshold on the labels."""
        return self.k != self.current_k and self.score >= self.current_score + MARGIN - 1e-9


def confirmed_events(labels: pd.DataFrame | None) -> int:
    """How many labels say an anomaly was real."""
    return 0 if labels is None or labels.empty else int(labels["verdict"].isin(POSITIVE).sum())


def suggestion_shortfall(labels: pd.DataFrame | None) -> str | None:
    """What is missing before a threshold is suggested, or None when nothing is."""
    n = confirmed_events(labels)
    if n >= MIN_CONFIRMED:
        return None
    return (
        f"A threshold is suggested once {MIN_CONFIRMED} anomalies are confirmed "
        f"({n} so far): fewer say too little about the months to come."
    )


def reviewed(labels: pd.DataFrame) -> pd.DataFrame:
    """``labels`` plus one ``not_anomaly`` span from the first label to the last (positive spans
    still win where they lie)."""
    span = pd.DataFrame(
        {"start": [labels["start"].min()], "end": [labels["end"].max()], "verdict": ["not_anomaly"]}
    )
    return pd.concat([labels[["start", "end", "verdict"]], span], ignore_index=True)


def suggest_threshold(
    scored: pd.DataFrame,
    labels: pd.DataFrame | None,
    settings: ThresholdSettings,
    candidates: tuple[float, ...] = CANDIDATES,
) -> Suggestion | None:
    """The best sigma ``k`` on the reviewed span (see the module doc); None before
    ``MIN_CONFIRMED`` confirmed anomalies. The other settings (direction, minimum deviation) stay."""
    if suggestion_shortfall(labels) is not None:
        return None
    truth = reviewed(labels)

    def f1s(k: float) -> tuple[float, float]:
        s = replace(settings, mode="sigma", k=float(k))
        m = label_metrics(truth, scored, flag_points(scored, s))
        return float(m["f1"]), float(m["event_f1"])

    current_k = float(settings.k) if settings.mode == "sigma" else float("nan")
    figures = {float(k): f1s(k) for k in candidates}
    top = max(sum(f) / 2 for f in figures.values())
    near = [k for k, f in figures.items() if sum(f) / 2 >= top - 1e-9]
    best = min(near, key=lambda k: (abs(k - current_k) if current_k == current_k else 0.0, -k))
    current = f1s(current_k) if current_k == current_k else (float("nan"), float("nan"))
    return Suggestion(best, *figures[best], current_k, *current)
