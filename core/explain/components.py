"""Prophet's own decomposition of one reading (``explain_prophet_point``).

No SHAP: Prophet is additive already. Base value = trend; values = daily, weekly, yearly, holidays,
temperature (whichever the model has); ``model_output`` = the forecast ``yhat``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.detect.detectors.base import Detector
from core.explain.types import ExplainError, Explanation, label_of


def explain_prophet_point(
    detector: Detector, frame: pd.DataFrame, timestamp: pd.Timestamp
) -> Explanation:
    """Prophet's own decomposition of the expected reading at ``timestamp``: the trend as the base,
    then each seasonal part, holidays and temperature (whichever the model has)."""
    model = getattr(detector, "model_", None)
    if detector.name != "prophet" or model is None:
        raise ExplainError("component views need a fitted Prophet (alone or inside the ensemble)")
    if timestamp not in frame.index:
        raise ExplainError(f"no reading at {timestamp} in this dataset")
    prediction = detector.predict(frame.loc[[timestamp]])
    parts = detector.components(prediction).iloc[0]
    names = [c for c in parts.index if c != "trend"]
    values = np.array([float(parts[c]) for c in names])
    data = np.array(
        [float(frame.at[timestamp, c]) if c in frame.columns else np.nan for c in names]
    )
    return Explanation(
        values=values,
        base_value=float(parts["trend"]),
        feature_names=tuple(names),
        feature_labels=tuple(label_of(n) for n in names),
        data=data,
        model_output=float(prediction["yhat"].iloc[0]),
        method="prophet",
        output="forecast",
        timestamp=timestamp,
        extra={"multiplicative": getattr(model, "seasonality_mode", "additive") != "additive"},
    )
