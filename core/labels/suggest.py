"""The sigma threshold that maximises event F1 on the user's labels: a suggestion, never applied."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from core.detect.thresholds import ThresholdSettings, flag_points
from core.labels.metrics import label_metrics

CANDIDATES = tuple(np.round(np.arange(1.0, 5.01, 0.25), 2))  # the sigma scale's useful range


@dataclass(frozen=True)
class Suggestion:
    """``k`` to suggest, its event F1 on the labels, and the current threshold's."""

    k: float
    event_f1: float
    current_k: float
    current_event_f1: float

    @property
    def better(self) -> bool:
        return self.event_f1 > self.current_event_f1 + 1e-9


def suggest_threshold(
    scored: pd.DataFrame,
    labels: pd.DataFrame,
    settings: ThresholdSettings,
    candidates: tuple[float, ...] = CANDIDATES,
) -> Suggestion | None:
    """The sigma ``k`` with the highest event F1 on the labels (ties: the higher k, fewer alerts);
    None without a confirmed anomaly to find. The other settings (direction, minimum deviation)
    stay as they are."""
    if labels is None or not labels["verdict"].eq("real").any():
        return None

    def event_f1(k: float) -> float:
        s = replace(settings, mode="sigma", k=float(k))
        return float(label_metrics(labels, scored, flag_points(scored, s))["event_f1"])

    scores = {float(k): event_f1(k) for k in candidates}
    best = max(scores, key=lambda k: (scores[k], k))
    current = event_f1(settings.k) if settings.mode == "sigma" else float("nan")
    return Suggestion(best, scores[best], float(settings.k), current)
