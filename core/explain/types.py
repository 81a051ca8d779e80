"""What an explanation is: the result types, the error, and the readable label of each input.

Every explainer returns an :class:`Explanation` (contributions, base value, names, readable labels,
the row's inputs, the model output); ``global_forest`` returns a :class:`GlobalExplanation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.detect.detectors._common import EXTRA_LABELS
from core.detect.detectors.learned import LAG_HOURS
from core.detect.features import FEATURE_LABELS

LABELS: dict[str, str] = {
    **FEATURE_LABELS,
    **EXTRA_LABELS,
    "weekend": "weekend",
    "weekday_sin": "day of week",
    "weekday_cos": "day of week",
    # the LSTM's context inputs (core.detect.detectors.lstm.CONTEXT_NAMES)
    "same_time_yesterday": "reading at the same time yesterday",
    "same_time_last_week": "reading at the same time last week",
    "usual_for_time_of_week": "usual reading at this hour and weekday",
    "trend": "long-term trend",
    "daily": "daily pattern",
    "daily_weekday": "working-day daily pattern",
    "daily_weekend": "weekend daily pattern",
    "weekly": "weekly pattern",
    "yearly": "time of year",
    "holidays": "public holiday",
    # shorter words for the engineered inputs whose feature labels read like a formula: they head
    # chart rows and end the page's sentence ("... because of the gap from the usual level")
    "dev_profile": "gap from the usual level at this hour and weekday",
    "dev_profile_short": "gap from the usual level over six hours",
    "dev_profile_day": "gap from the usual level over the day",
    "dev_typical": "gap from the last four weeks at this hour",
    "dev_typical_short": "gap from the last four weeks over six hours",
    "dev_typical_day": "gap from the last four weeks over the day",
    "typical": "usual reading of the last four weeks",
    # the learned detector's inputs (core.detect.detectors.learned.learned_features)
    **{f"diff_{k}h": f"change over {k} h" for k in LAG_HOURS},
    **{f"ratio_{k}h": f"ratio to {k} h before" for k in LAG_HOURS},
    "level": "reading against the meter's median",
    "over_day_median": "gap from the day's median",
    "still_for": "time the reading stood still",
    "ensemble": "unsupervised ensemble score",
}


class ExplainError(ValueError):
    """This detector or point cannot be explained this way; ``str(err)`` says what to do."""


@dataclass(frozen=True)
class Explanation:
    """Additive contributions for one point: ``model_output ≈ base_value + values.sum()``."""

    values: np.ndarray
    base_value: float
    feature_names: tuple[str, ...]
    feature_labels: tuple[str, ...]
    data: np.ndarray  # the point's input per feature, in readable units
    model_output: float
    method: str  # a key of core.explain.explainers.EXPLAINERS
    output: str  # what the numbers are in, for axis titles
    timestamp: pd.Timestamp | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def by_label(self) -> pd.DataFrame:
        """Contributions summed per readable label (``hour_sin`` + ``hour_cos`` -> "hour of day"),
        largest absolute first: columns ``label, value``."""
        df = pd.DataFrame({"label": self.feature_labels, "value": self.values})
        out = df.groupby("label", sort=False, as_index=False)["value"].sum()
        return out.reindex(out["value"].abs().sort_values(ascending=False).index).reset_index(
            drop=True
        )

    def top(self, n: int = 2) -> pd.DataFrame:
        """The ``n`` labels that mattered most: for Isolation Forest those that pushed towards
        anomalous (by absolute size when none did), likewise for the learned detector's log-odds;
        for a forecast, the largest either way."""
        g = self.by_label()
        if self.method not in ("isolation_forest", "learned"):
            return g.head(n).reset_index(drop=True)
        up = g[g["value"] > 0].sort_values("value", ascending=False)
        return (up if len(up) else g).head(n).reset_index(drop=True)


@dataclass(frozen=True)
class GlobalExplanation:
    """SHAP values of a seeded sample of points: the bar chart and the beeswarm read this."""

    values: np.ndarray  # (n, features)
    data: np.ndarray  # (n, features), the inputs
    index: pd.DatetimeIndex
    base_value: float
    feature_names: tuple[str, ...]
    feature_labels: tuple[str, ...]

    def importance(self) -> pd.DataFrame:
        """Mean |SHAP| per feature, largest first: columns ``feature, label, mean_abs``."""
        out = pd.DataFrame(
            {
                "feature": self.feature_names,
                "label": self.feature_labels,
                "mean_abs": np.abs(self.values).mean(axis=0),
            }
        )
        return out.sort_values("mean_abs", ascending=False).reset_index(drop=True)


def label_of(name: str) -> str:
    """The readable label of an input name (``hour_sin`` -> "hour of day"); unknown names unchanged
    but for underscores."""
    return LABELS.get(name, name.replace("_", " "))
