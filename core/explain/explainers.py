"""The explainers by name: which part of a detector explains, with which settings, and
``explain_point``, the one call that picks the explainer for a reading."""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.detect.detectors.base import Detector
from core.explain.components import explain_prophet_point
from core.explain.forest import explain_forest_point
from core.explain.recurrent import explain_lstm_point
from core.explain.types import ExplainError, Explanation

EXPLAINERS: dict[str, str] = {
    "isolation_forest": "Isolation Forest (SHAP)",
    "lstm": "LSTM (SHAP)",
    "prophet": "Prophet components",
}


def member(detector: Detector, name: str) -> Detector | None:
    """``detector`` itself when it is ``name``, else its ensemble member of that name, else None."""
    if detector.name == name:
        return detector
    members = getattr(detector, "members_", None) or {}
    return members.get(name)


def explaining_settings(settings: Any, method: str) -> Any:
    """The detector settings whose fit can explain with ``method``: the current ones when that
    detector is, or contains, ``method``; else ``method`` alone with default parameters."""
    from core.detect.pipeline import DetectorSettings

    if settings.detector == method:
        return settings
    if settings.detector == "ensemble":
        from core.detect.detectors.ensemble import DEFAULT_MEMBERS

        if method in tuple(dict(settings.params).get("members", DEFAULT_MEMBERS)):
            return settings
    return DetectorSettings(detector=method)


def explain_point(
    detector: Detector, frame: pd.DataFrame, timestamp: pd.Timestamp, method: str
) -> Explanation:
    """Explain the reading at ``timestamp`` with ``method`` (a key of ``EXPLAINERS``), using
    ``detector`` itself or its ensemble member of that name."""
    found = member(detector, method)
    if found is None:
        raise ExplainError(f"{detector.title or detector.name} has no {EXPLAINERS[method]} part")
    explain = {
        "isolation_forest": explain_forest_point,
        "lstm": explain_lstm_point,
        "prophet": explain_prophet_point,
    }[method]
    return explain(found, frame, pd.Timestamp(timestamp))
