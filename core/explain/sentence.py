"""One plain sentence per explanation (``explanation_sentence``), and which reading of an event to
explain (``peak_time``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from core.explain.types import Explanation

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def explanation_sentence(point: Mapping[str, Any], explanation: Explanation) -> str:
    """One plain sentence: what happened at the point, then its top contributors by readable label.

    ``point`` needs ``time`` (or ``start``), ``value`` (or ``actual``) and ``expected``; ``type``
    (an event type from ``core.detect.events``) is optional.
    """
    ts = pd.Timestamp(point.get("time", point.get("start", explanation.timestamp)))
    value = float(point.get("value", point.get("actual", np.nan)))
    expected = float(point.get("expected", np.nan))
    kind = str(point.get("type", "") or "")
    lead = _lead(ts, value, expected, kind)
    top = explanation.top(2)
    parts = [f"the {r.label} ({_signed(r.value)})" for r in top.itertuples()]
    drivers = " and ".join(parts)
    if explanation.method == "isolation_forest":
        tail = f"the biggest contributors were {drivers}"
    elif explanation.method == "lstm":
        tail = (
            f"the LSTM forecast {explanation.model_output:,.1f}, driven most by {drivers}"
            if parts
            else "the LSTM forecast it from the recent readings"
        )
    else:
        tail = (
            f"Prophet expected {explanation.model_output:,.1f} from a trend of "
            f"{explanation.base_value:,.1f}, moved most by {drivers}"
        )
    return f"{lead}; {tail}."


def _signed(v: float) -> str:
    """+1.8, -0.15, +1,234: two significant digits for small numbers, whole units for big ones."""
    return f"{v:+,.0f}" if abs(v) >= 10 else f"{v:+.2g}"


def _lead(ts: pd.Timestamp, value: float, expected: float, kind: str) -> str:
    when = f"{ts:%H:%M} on {_DAYS[ts.dayofweek]}"
    period = _period(ts)
    if kind == "drop_to_zero" or (value == 0 and expected > 0):
        return f"Consumption at {when} dropped to zero while about {expected:,.1f} was expected"
    if kind == "flat":
        return f"The meter at {when} was stuck at {value:,.1f}"
    if np.isfinite(value) and np.isfinite(expected) and expected > 0:
        r = value / expected
        how = (
            f"{r:.1f}× the usual {period} load"
            if r >= 1.5
            else (f"{100 * r:.0f} % of the usual {period} load")
        )
        return f"Consumption at {when} was {how} ({value:,.1f} against {expected:,.1f} expected)"
    if np.isfinite(value):
        return f"Consumption at {when} was {value:,.1f}"
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
