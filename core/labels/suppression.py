""" "Like one you dismissed": an event that repeats something the user said was not an anomaly.

An event is *like* a dismissed one when all of these hold (the Sunday-morning boiler start a
facility engineer dismissed ten times):

* the same meter (the caller passes one meter's dismissed events; a ``meter`` column, when both
  sides have one, must match too);
* the same type (``spike``, ``dip``, ``off_hours`` ...), when the dismissed one has a type;
* the same time-of-week pattern: it starts within ``hours`` of the dismissed one's start on the same
  weekday, or, when both start on weekdays or both on weekend days, within ``hours`` of the same
  time of day;
* a similar size: excess energy of the same sign within a factor ``size_factor`` (when both have
  one), and a duration within a factor ``size_factor`` too.

Such an event is still shown, marked "like one you dismissed", and does not alert
(``core.alerts`` calls ``is_like_dismissed``). Dismissed means verdict ``not_anomaly`` or
``expected``; ``SqlLabelRepository.dismissed_events`` gives them with their event's type and size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

MARK = "like one you dismissed"
WEEK_H = 168.0


def is_like_dismissed(
    event: Mapping[str, Any] | pd.Series,
    dismissed: pd.DataFrame,
    *,
    hours: float = 2.0,
    size_factor: float = 2.0,
) -> bool:
    """True when ``event`` (``start``, ``end``, ``type``, ``excess``; ``meter`` optional) is like
    any row of ``dismissed`` (same columns) by the rules in the module docstring."""
    if dismissed is None or len(dismissed) == 0:
        return False
    return bool(_like(event, dismissed, hours, size_factor).any())


def mark_like_dismissed(
    events: pd.DataFrame, dismissed: pd.DataFrame, *, hours: float = 2.0, size_factor: float = 2.0
) -> pd.Series:
    """One bool per event row: is it like a dismissed one (shown, marked, not alerted)."""
    if events is None or len(events) == 0 or dismissed is None or len(dismissed) == 0:
        return pd.Series(False, index=getattr(events, "index", None), dtype=bool, name="suppressed")
    flags = [
        is_like_dismissed(row, dismissed, hours=hours, size_factor=size_factor)
        for _, row in events.iterrows()
    ]
    return pd.Series(flags, index=events.index, dtype=bool, name="suppressed")


def _like(event, dismissed: pd.DataFrame, hours: float, factor: float) -> np.ndarray:
    start, end = pd.Timestamp(event["start"]), pd.Timestamp(event["end"])
    d_start = pd.DatetimeIndex(dismissed["start"])
    d_end = pd.DatetimeIndex(dismissed["end"])
    ok = np.ones(len(dismissed), dtype=bool)
    if "meter" in dismissed and _get(event, "meter") is not None:
        ok &= dismissed["meter"].to_numpy() == _get(event, "meter")
    if "type" in dismissed and _get(event, "type") is not None:
        d_type = dismissed["type"].to_numpy(dtype=object)
        ok &= pd.isna(d_type) | (d_type == _get(event, "type"))
    ok &= _same_time_pattern(start, d_start, hours)
    duration = max((end - start) / pd.Timedelta("1h"), 0.0) + 1.0  # +1: a one-reading event
    d_duration = np.maximum((d_end - d_start) / pd.Timedelta("1h"), 0.0) + 1.0
    ok &= _within(duration, np.asarray(d_duration, dtype=float), factor)
    excess = _get(event, "excess")
    if excess is not None and "excess" in dismissed:
        d_excess = dismissed["excess"].to_numpy(dtype=float)
        known = np.isfinite(d_excess)
        same_sign = np.sign(d_excess) == np.sign(excess)
        ok &= ~known | (same_sign & _within(abs(excess), np.abs(d_excess), factor))
    return ok


def _same_time_pattern(start: pd.Timestamp, d_start: pd.DatetimeIndex, hours: float) -> np.ndarray:
    def week_h(ts) -> np.ndarray:
        return np.asarray(ts.dayofweek * 24 + ts.hour + ts.minute / 60.0, dtype=float)

    t = float(week_h(pd.DatetimeIndex([start]))[0])
    d = week_h(d_start)
    gap_week = np.abs((t - d + WEEK_H / 2) % WEEK_H - WEEK_H / 2)
    gap_day = np.abs((t % 24 - d % 24 + 12) % 24 - 12)
    same_kind = (start.dayofweek >= 5) == (np.asarray(d_start.dayofweek) >= 5)
    return (gap_week <= hours) | (same_kind & (gap_day <= hours))


def _within(x: float, ref: np.ndarray, factor: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ref > 0, x / ref, np.where(x > 0, np.inf, 1.0))
    return (ratio <= factor) & (ratio >= 1.0 / factor)


def _get(event, key: str) -> Any:
    value = event.get(key) if hasattr(event, "get") else None
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value
