"""The explainers by name: which part of a detector explains, with which settings, which events
it can explain (``explainable``: the LSTM needs a window of history before a reading), which a
page offers under a detector (``offered``: the learned detector's only when it is the detector),
and ``explain_point``, the one call that picks the explainer for a reading."""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.detect.detectors.base import Detector
from core.explain.components import explain_prophet_point
from core.explain.forest import explain_forest_point
from core.explain.learned import explain_learned_point
from core.explain.recurrent import explain_lstm_point
from core.explain.types import ExplainError, Explanation

EXPLAINERS: dict[str, str] = {
    "isolation_forest": "Isolation Forest (SHAP)",
    "lstm": "LSTM (SHAP)",
    "prophet": "Prophet components",
    "learned": "Learned from labels (SHAP)",
}
# explainers of a detector that learns from a meter's labels: offered only when it is the detector
# (fitted alone on the page's data it has no labels, so no model to explain)
ITSELF_ONLY: frozenset[str] = frozenset({"learned"})


def member(detector: Detector, name: str) -> Detector | None:
    """``detector`` itself when it is ``name``, else its ensemble member of that name, else None."""
    if detector.name == name:
        return detector
    members = getattr(detector, "members_", None) or {}
    return members.get(name)


def offered(settings: Any, registry: Any = ()) -> list[str]:
    """The keys of ``EXPLAINERS`` a page offers under the detector ``settings``: those in
    ``registry`` (when given), without the ``ITSELF_ONLY`` ones unless the detector is that one
    (then first: the detector's own explanation is the one to open on)."""
    detector = getattr(settings, "detector", None)
    shown = [
        m
        for m in EXPLAINERS
        if (not registry or m in registry) and (m not in ITSELF_ONLY or detector == m)
    ]
    return sorted(shown, key=lambda m: m != detector or m not in ITSELF_ONLY)


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


def history_needed(settings: Any, method: str, index: pd.DatetimeIndex) -> int:
    """Readings of history ``method`` needs before the one it explains: the LSTM's window (its
    parameter, else ``default_window`` of the data's step); 0 for the other explainers."""
    if method != "lstm":
        return 0
    from core.detect.detectors._lstm_inputs import default_window

    params = dict(getattr(settings, "params", ()) or ())
    lstm_params = dict(dict(params.get("member_params") or {}).get("lstm") or {})
    return int(params.get("window") or lstm_params.get("window") or default_window(index))


def explainable(
    events: pd.DataFrame, peaks: pd.DatetimeIndex, index: pd.DatetimeIndex, needed: int
) -> pd.DataFrame:
    """The ``events`` whose peak reading (``peaks``, one per event) has at least ``needed``
    readings before it in ``index``: the ones an explainer that needs that much history can
    explain, so a page never offers an event it would fail on after fitting."""
    if needed <= 0 or events.empty:
        return events
    pos = index.get_indexer(pd.DatetimeIndex(peaks))
    return events[(pos >= needed)]


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
        "learned": explain_learned_point,
    }[method]
    return explain(found, frame, pd.Timestamp(timestamp))
