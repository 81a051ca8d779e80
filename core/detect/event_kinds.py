"""What kind an event is, and the one sentence a person reads about it.

``core.detect.events`` builds a :class:`Span` per event (its readings, expectation, deviation,
score) and asks :func:`type_of` for its type and :func:`cause_of` for its sentence.

Types, checked in this order (the first rule that matches wins):

Types, checked in this order (the first rule that matches wins):

``holiday``
    with holiday names given (``core.detect.holidays``), at least half of the event's readings fall on a
    public holiday: named in the cause ("Easter Monday: 58 % below a usual Monday").
``drop_to_zero``
    at least 80 % of the readings are at most 5 % of the mean expected reading, and that expectation
    is above zero.
``flat``
    at least 80 % of the event's readings sit in runs of identical readings at least three steps
    long (a stuck register, a repeated last value, a register that sticks again after each move).
``off_hours``
    net over-use, most points at night (22:00-06:00) or on a weekend, and the expected level there is
    at or below the series' median expected level.
``spike`` / ``dip``
    at most two steps long; above / below expected.
``level_shift``
    six steps or more, and at least 80 % of the deviations share one sign.
otherwise
    ``spike`` for net over-use, ``dip`` for net under-use.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

POWER_UNITS = {"w": "Wh", "kw": "kWh", "mw": "MWh", "gw": "GWh"}

SHORT_STEPS = 2  # spike / dip
LONG_STEPS = 6  # level_shift
FLAT_MIN_STEPS = 3
ZERO_FRACTION = 0.05  # "about zero" relative to what was expected
ONE_SIDED = 0.8
CORE_SHARE = 0.8  # smoothed scores often add a normal reading at each edge of a fault
NIGHT_START, NIGHT_END = 22, 6
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Span:
    """What the typing and wording rules look at (a tiny record, built once per event)."""

    def __init__(self, **kw: object) -> None:
        self.__dict__.update(kw)

    @property
    def net(self) -> float:
        return float(np.nansum(self.deviation))

    @property
    def mean_expected(self) -> float:
        return float(np.nanmean(self.expected)) if np.isfinite(self.expected).any() else np.nan


# ---- typing -------------------------------------------------------------------------------------
def holiday_of(names: np.ndarray) -> str:
    """The holiday most of the event falls on ("" when fewer than half its readings do)."""
    named = names[names != ""]
    if named.size * 2 < names.size or named.size == 0:
        return ""
    uniq, counts = np.unique(named, return_counts=True)
    return str(uniq[counts.argmax()])


def type_of(s: Span) -> str:
    if s.holiday:
        return "holiday"
    v = s.value[np.isfinite(s.value)]
    exp = s.mean_expected
    if v.size and exp > 0 and (np.abs(v) <= ZERO_FRACTION * exp).mean() >= CORE_SHARE:
        return "drop_to_zero"
    if _repeated_share(s.value) >= CORE_SHARE:
        return "flat"
    if s.net > 0 and _mostly_off_hours(s.part.index) and exp <= s.median_expected:
        return "off_hours"
    if s.steps <= SHORT_STEPS:
        return "spike" if s.net > 0 else "dip"
    dev = s.deviation[np.isfinite(s.deviation)]
    if s.steps >= LONG_STEPS and dev.size:
        share = max((dev > 0).mean(), (dev < 0).mean())
        if share >= ONE_SIDED:
            return "level_shift"
    return "spike" if s.net > 0 else "dip"


def _repeated_share(values: np.ndarray) -> float:
    """Share of the readings that sit in a run of at least ``FLAT_MIN_STEPS`` identical ones."""
    if values.size < FLAT_MIN_STEPS:
        return 0.0
    same = np.r_[False, np.isclose(values[1:], values[:-1], rtol=1e-9, atol=0.0)]
    starts = np.flatnonzero(~same)
    lengths = np.diff(np.r_[starts, values.size])
    return float(lengths[lengths >= FLAT_MIN_STEPS].sum() / values.size)


def _off_hours(index: pd.DatetimeIndex) -> np.ndarray:
    hour = index.hour
    return np.asarray((hour >= NIGHT_START) | (hour < NIGHT_END) | (index.dayofweek >= 5))


def _mostly_off_hours(index: pd.DatetimeIndex) -> bool:
    return bool(_off_hours(index).mean() > 0.5)


# ---- wording ------------------------------------------------------------------------------------
def cause_of(kind: str, s: Span) -> str:
    peak = _peak_position(s)
    when = _when(s.part.index[peak])
    exp = s.mean_expected
    if kind == "holiday":
        day = _DAYS[s.holiday_day.dayofweek]
        actual = float(np.nanmean(s.value)) if np.isfinite(s.value).any() else np.nan
        if np.isfinite(actual) and np.isfinite(exp) and exp > 0:
            pct = 100 * (actual / exp - 1)
            side = "below" if pct < 0 else "above"
            return f"{s.holiday}: {abs(pct):.0f} % {side} a usual {day}"
        return f"{s.holiday}: unlike a usual {day}"
    if kind == "drop_to_zero":
        return f"Dropped to zero for {_duration(s.steps * s.step_h)} while {_rate(exp, s)} was expected"
    if kind == "flat":
        return (
            f"Readings stuck at {_num(_stuck_value(s.value))} {s.unit} for {_duration(s.steps * s.step_h)} "
            "(possible meter fault)"
        )
    if kind == "level_shift":
        direction = "up" if s.net > 0 else "down"
        mean_dev = float(np.nanmean(s.deviation))
        pct = f" ({100 * mean_dev / exp:+.0f} %)" if exp > 0 else ""
        return (
            f"Level {direction} by {_num(abs(mean_dev))} {s.unit}{pct} for "
            f"{_duration(s.steps * s.step_h)} from {_when(s.part.index[0], date=True)}"
        )
    actual = s.value[peak]
    expected = s.expected[peak]
    period = _period(s.part.index[peak])
    how = _ratio(actual, expected, s.unit)
    if kind == "off_hours":
        return (
            f"{when}: {how} the usual {period} load for this weekday, "
            f"outside working hours ({_duration(s.steps * s.step_h)})"
        )
    extra = "" if s.steps <= SHORT_STEPS else f" ({_duration(s.steps * s.step_h)})"
    return f"{when}: {how} the usual {period} load for this weekday{extra}"


def _stuck_value(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.nan
    uniq, counts = np.unique(finite, return_counts=True)
    return float(uniq[counts.argmax()])


def _peak_position(s: Span) -> int:
    dev = np.abs(s.deviation)
    if np.isfinite(dev).any():
        return int(np.nanargmax(dev))
    return int(np.nanargmax(s.score)) if np.isfinite(s.score).any() else 0


def _when(ts: pd.Timestamp, *, date: bool = False) -> str:
    day = _DAYS[ts.dayofweek]
    if date:
        return f"{day} {ts.day} {ts:%b %Y} {ts:%H:%M}"
    return f"{day} {ts:%H:%M}"


def _period(ts: pd.Timestamp) -> str:
    h = ts.hour
    if h >= NIGHT_START or h < NIGHT_END:
        return "night"
    if h < 12:
        return "morning"
    if h < 18:
        return "afternoon"
    return "evening"


def _ratio(actual: float, expected: float, unit: str) -> str:
    """'2.4×' or '45 % of' when a ratio means something, else the difference in the data unit."""
    if not (np.isfinite(actual) and np.isfinite(expected)):
        return "away from"
    if expected <= 0:
        side = "above" if actual > expected else "below"
        return f"{_num(abs(actual - expected))} {unit} {side}".replace("  ", " ")
    r = actual / expected
    if r >= 0.995:
        return f"{r:.1f}×"
    return f"{100 * r:.0f} % of"


def _rate(expected_mean: float, s: Span) -> str:
    """The expected level per hour, in words: '120 kWh/h' for energy readings, '120 kW' for power."""
    if not np.isfinite(expected_mean):
        return "some use"
    if s.unit.strip().lower() in POWER_UNITS:
        return f"{_num(expected_mean)} {s.unit}"
    if s.unit.lower().endswith("wh"):
        return f"{_num(expected_mean / s.step_h)} {s.unit}/h"
    return f"{_num(expected_mean)} {s.unit}".strip()


def _duration(hours: float) -> str:
    if hours < 1:
        minutes = round(hours * 60)
        return f"{minutes} minute" + ("" if minutes == 1 else "s")
    days, rest = divmod(round(hours, 2), 24)
    parts = []
    if days:
        parts.append(f"{int(days)} day" + ("" if days == 1 else "s"))
    if rest:
        h = f"{rest:g}"
        parts.append(f"{h} hour" + ("" if rest == 1 else "s"))
    return " ".join(parts)


def _num(x: float) -> str:
    if not np.isfinite(x):
        return "?"
    return f"{x:,.1f}" if abs(x) < 100 else f"{x:,.0f}"
