"""Tree SHAP of the learned detector (``core.detect.detectors.learned``), for one reading.

``shap.TreeExplainer`` over the detector's gradient boosting model (``model_``, scikit-learn's
``HistGradientBoostingClassifier``) on its own rows (``features(frame)``, columns ``columns_``):
the value changes and ratios over 1 h .. 1 week, hour, weekday, the reading against its day, how
long it stood still, temperature, and the unsupervised ensemble's score. The contributions are in
the model's raw output, the log-odds that a person would call the reading an anomaly, and add up
to it: ``model_output = base_value + values.sum() = model_.decision_function(row)``. The
detector's score adds ``ensemble_weight`` times the ensemble's calibrated score and smooths over
``smooth_hours`` (``extra`` keeps both), so the explanation is of the model's part at the reading.

A learned detector without enough labels has no model (``model_`` is None, the score is the
ensemble's): that is an ``ExplainError`` saying what is missing (``shortfall_``).
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
import pandas as pd

from core.detect.detectors.base import Detector
from core.explain.types import ExplainError, Explanation, label_of

_LOCK = threading.Lock()
_EXPLAINERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _model(detector: Detector):
    if detector.name != "learned" or not hasattr(detector, "ensemble_"):
        raise ExplainError("SHAP of the learned detector needs a fitted learned detector")
    model = getattr(detector, "model_", None)
    if model is None:
        missing = getattr(detector, "shortfall_", "") or "it has no model yet"
        raise ExplainError(
            f"The learned detector scores like the ensemble until it has enough labels: {missing}. "
            "Label more events on the Anomaly detection page and retrain."
        )
    return model


def _explainer(model):
    """One ``shap.TreeExplainer`` per fitted model, dropped with the model."""
    import shap

    with _LOCK:
        found = _EXPLAINERS.get(model)
        if found is None:
            found = _EXPLAINERS[model] = shap.TreeExplainer(model)
        return found


def explain_learned_point(
    detector: Detector, frame: pd.DataFrame, timestamp: pd.Timestamp
) -> Explanation:
    """SHAP of the learned detector's model for the reading at ``timestamp``.

    Features are computed on the whole ``frame``, as when it was scored (lags and the day's median
    look at the readings around a point).
    """
    model = _model(detector)
    if timestamp not in frame.index:
        raise ExplainError(f"no reading at {timestamp} in this dataset")
    pos = frame.index.get_loc(timestamp)
    if not np.isfinite(float(frame["value"].iloc[pos])):
        raise ExplainError(f"the reading at {timestamp} is missing, so there is nothing to explain")
    features = detector.features(frame)
    row = features.iloc[pos : pos + 1].to_numpy(dtype=float)  # NaN lags: the trees route them
    explainer = _explainer(model)
    phi = np.asarray(explainer.shap_values(row), dtype=float).reshape(-1)
    base = float(np.ravel(explainer.expected_value)[0])
    names = tuple(features.columns)
    return Explanation(
        values=phi,
        base_value=base,
        feature_names=names,
        feature_labels=tuple(label_of(n) for n in names),
        data=row[0],
        model_output=float(base + phi.sum()),
        method="learned",
        output="log-odds of an anomaly (learned model)",
        timestamp=timestamp,
        extra={
            "decision": float(model.decision_function(row)[0]),
            "ensemble_weight": float(getattr(detector, "ensemble_weight", 0.0)),
            "smooth_hours": float(getattr(detector, "smooth_hours", 0.0)),
        },
    )
