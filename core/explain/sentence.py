"""One plain sentence per explanation (``explanation_sentence``), and which reading of an event to
explain (``peak_time``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from core.explain.types import Explanation

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def explanation_sentence(
    point: Mapping[str, Any], explanation: Explanation, *, unit: str = ""
) -> str:
    """One plain sentence: when (date and time), what happened against what was expected (with
    the unit), then what mattered most, by readable label.

    ``point`` needs ``time`` (or ``start``), ``value`` (or ``actual``) and ``expected``; ``type``
    (an event type from ``core.detect.events``) is optional. For a forecast (LSTM, Prophet) the
    expected value is the model's own forecast, so the sentence states one expected value.
    Isolation Forest contributions and the learned detector's (log-odds of an anomaly) have no
    unit a reader knows, so they are named without numbers; forecast contributions are in the data
    unit and keep theirs.
    """
    ts = pd.Timestamp(point.get("time", point.get("start", explanation.timestamp)))
    value = float(point.get("value", point.get("actual", np.nan)))
    expected = float(point.get("expected", np.nan))
    forecast = explanation.method in ("lstm", "prophet")
    if forecast and np.isfinite(explanation.model_output):
        expected = float(explanation.model_output)
    kind = str(point.get("type", "") or "")
    who = {"lstm": "the LSTM", "prophet": "Prophet"}.get(explanation.method, "")
    lead = _lead(ts, value, expected, kind, unit, who)
    top = explanation.top(2)
    if explanation.method == "isolation_forest":
        names = " and ".join(f"the {r.label}" for r in top.itertuples())
        tail = f"it stood out mostly because of {names}" if names else "it stood out"
        return f"{lead}; {tail}."
    if explanation.method == "learned":
        names = " and ".join(f"the {r.label}" for r in top.itertuples())
        tail = "the model learned from your labels flagged it"
        tail += f" mostly because of {names}" if names else ""
        return f"{lead}; {tail}."
    parts = [f"the {r.label} ({_signed(r.value, unit)})" for r in top.itertuples()]
    drivers = " and ".join(parts)
    if explanation.method == "lstm":
        tail = (
            f"the LSTM's forecast was driven most by {drivers}"
            if parts
            else "the LSTM forecast it from the recent readings"
        )
    else:
        tail = f"Prophet built it from a trend of {_amount(explanation.base_value, unit)}"
        tail += f", moved most by {drivers}" if parts else ""
    return f"{lead}; {tail}."


def _amount(v: float, unit: str) -> str:
    return f"{v:,.1f} {unit}".rstrip()


def _signed(v: float, unit: str = "") -> str:
    """+1.8, -0.15, +1,234 (with the unit when given): two significant digits for small numbers,
    whole units for big ones."""
    text = f"{v:+,.0f}" if abs(v) >= 10 else f"{v:+.2g}"
    return f"{text} {unit}".rstrip()


def _lead(
    ts: pd.Timestamp, value: float, expected: float, kind: str, unit: str = "", who: str = ""
) -> str:
    """What happened at ``ts`` against what was expected (by ``who``, a forecaster, when given)."""
    when = f"{ts:%H:%M} on {_DAYS[ts.dayofweek]} {ts.day} {ts:%B %Y}"
    period = _period(ts)
    if kind == "drop_to_zero" or (value == 0 and expected > 0):
        return (
            f"Consumption at {when} dropped to zero while about {_amount(expected, unit)} "
            "was expected"
        )
    if kind == "flat":
        return f"The meter at {when} was stuck at {_amount(value, unit)}"
    if np.isfinite(value) and np.isfinite(expected) and expected > 0:
        r = value / expected
        how = (
            f"{r:.1f}× the usual {period} load"
            if r >= 1.5
            else (f"{100 * r:.0f} % of the usual {period} load")
        )
        against = (
            f"where {who} expected {_amount(expected, unit)}"
            if who
            else f"against {_amount(expected, unit)} expected"
        )
        return f"Consumption at {when} was {how} ({_amount(value, unit)} {against})"
    if np.isfinite(value):
        return f"Consumption at {when} was {_amount(value, unit)}"
    return f"The reading at {when} stood out"


def _period(ts: pd.Timestamp) -> str:
    h = ts.hour
    if h >= 22 or h < 6:
        return "night"
    return "morning" if h < 12 else ("afternoon" if h < 18 else "evening")


def peak_time(scored: pd.DataFrame, start: Any, end: Any) -> pd.Timestamp:
    """The most anomalous reading of an event (highest score between ``start`` and ``end``)."""
    part = scored.loc[pd.Timestamp(start) : pd.Timestamp(end), "score"]
    if part.notna().any():
        return pd.Timestamp(part.idxmax())
    return pd.Timestamp(start)
