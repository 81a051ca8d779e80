"""Flags -> events: when, how long, how much energy, what kind, and one sentence a person can read.

Runs of flagged points become events; runs separated by at most ``merge_gap`` unflagged steps are
merged into one (``merge_gap=0`` keeps every run apart). Then neighbouring events of one fault type
(``flat``, ``drop_to_zero``) up to a day apart (``MERGE_HOURS``) become one: a stuck or zeroed
meter is one fault however often a stray reading interrupts it. An event spans from its first to
its last flagged point, bridged gaps included, and its energy sums cover that whole span.

Scores: ``peak_score`` is the highest calibrated score in the event, ``mean_score`` the mean over
its flagged readings (a long stretch a little over the threshold has a low peak and a low mean; a
single loud reading inside a quiet event has a high peak and a lower mean).

Energy: for power units (W, kW, MW, GW) each reading is multiplied by the step in hours; for energy
units (Wh, kWh, ...) and anything else readings are summed as they are. The unit of ``actual``,
``expected`` and ``excess`` is in ``events.attrs["energy_unit"]``.

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

COLUMNS: tuple[str, ...] = (
    "event_id",
    "start",
    "end",
    "duration_h",
    "n_points",
    "peak_score",
    "mean_score",
    "actual",
    "expected",
    "excess",
    "type",
    "cause",
)
TYPES: tuple[str, ...] = (
    "spike",
    "dip",
    "drop_to_zero",
    "flat",
    "level_shift",
    "off_hours",
    "holiday",
)
POWER_UNITS = {"w": "Wh", "kw": "kWh", "mw": "MWh", "gw": "GWh"}

SHORT_STEPS = 2  # spike / dip
LONG_STEPS = 6  # level_shift
FLAT_MIN_STEPS = 3
ZERO_FRACTION = 0.05  # "about zero" relative to what was expected
ONE_SIDED = 0.8
CORE_SHARE = 0.8  # smoothed scores often add a normal reading at each edge of a fault
NIGHT_START, NIGHT_END = 22, 6
# Neighbouring events of one fault type this many hours apart (or closer) are one event.
MERGE_HOURS: dict[str, float] = {"flat": 24.0, "drop_to_zero": 24.0}
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def find_events(
    scored: pd.DataFrame,
    flags: pd.Series,
    *,
    freq: pd.Timedelta | str,
    unit: str,
    merge_gap: int = 1,
    median_expected: float | None = None,
    holidays: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per event (columns ``COLUMNS``); an empty frame with those columns when nothing is flagged.

    Parameters
    ----------
    scored
        scored frame from ``core.detect.pipeline.score_frame`` (``value, score, expected, deviation``).
    flags
        boolean Series aligned to ``scored`` (``core.detect.thresholds.flag_points``).
    freq
        the sampling step (``Dataset.freq``).
    unit
        the unit of ``value`` (``Dataset.unit``), e.g. ``"kWh"`` or ``"kW"``.
    merge_gap
        runs separated by at most this many unflagged steps become one event.
    median_expected
        the usual expected level that ``off_hours`` compares with; default: the median ``expected``
        of ``scored``. Live detection passes the warm-up's, so typing never waits for later readings.
    holidays
        holiday name per reading of ``scored`` ("" on ordinary days): events on holidays are typed
        ``holiday`` and named.
    """
    if merge_gap < 0:
        raise ValueError(f"merge_gap must be 0 or more, got {merge_gap}")
    step_h = pd.Timedelta(freq) / pd.Timedelta(hours=1)
    energy_unit, per_reading = _energy_unit(unit, step_h)
    flag = flags.reindex(scored.index).fillna(False).to_numpy(dtype=bool)
    spans = _spans(flag, merge_gap)
    names = None if holidays is None else holidays.reindex(scored.index).fillna("").to_numpy()
    if median_expected is None:
        median_expected = (
            float(np.nanmedian(_column(scored, "expected"))) if "expected" in scored else np.nan
        )

    def make(a: int, b: int, kind: str | None = None) -> dict:
        return _event(scored, flag, a, b, step_h, unit, per_reading, median_expected, names, kind)

    out = pd.DataFrame(_merge_by_type(spans, make, _steps(scored.index, step_h)))
    if out.empty:
        out = _empty()
    else:
        out.insert(0, "event_id", np.arange(1, len(out) + 1))
        out = out[list(COLUMNS)]
    out.attrs["energy_unit"] = energy_unit
    return out


# ---- spans and numbers --------------------------------------------------------------------------
def _spans(flag: np.ndarray, merge_gap: int) -> list[tuple[int, int]]:
    """(start, stop) positions, stop exclusive, after merging short gaps."""
    edges = np.diff(np.concatenate(([0], flag.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if starts.size == 0:
        return []
    keep = np.r_[True, starts[1:] - stops[:-1] > merge_gap]  # a run that starts a new event
    ends = np.r_[np.flatnonzero(keep)[1:] - 1, starts.size - 1]
    return list(zip(starts[keep].tolist(), stops[ends].tolist(), strict=True))


def _steps(index: pd.DatetimeIndex, step_h: float) -> dict[str, int]:
    """How many unflagged steps each merge rule of ``MERGE_HOURS`` bridges at this step."""
    return {
        kind: int(round(hours / step_h)) if step_h > 0 else 0 for kind, hours in MERGE_HOURS.items()
    }


def _merge_by_type(spans: list[tuple[int, int]], make, gaps: dict[str, int]) -> list[dict]:
    """Events of ``spans``, neighbours joined by the rules of ``MERGE_HOURS``: a stuck register
    that moves once and sticks again, or a meter at zero for two days with one stray reading, is
    one fault, not two. The joined event keeps that type and is worded again over its whole span."""
    events: list[dict] = []
    bounds: list[tuple[int, int]] = []
    for a, b in spans:
        event = make(a, b)
        if events:
            last, (pa, pb) = events[-1], bounds[-1]
            limit = gaps.get(event["type"], 0) if event["type"] == last["type"] else 0
            if 0 < a - pb <= limit:
                event, a = make(pa, b, event["type"]), pa
                events.pop()
                bounds.pop()
        events.append(event)
        bounds.append((a, b))
    return events


def energy_unit_of(unit: str) -> str:
    """The unit events sum energy in for readings in ``unit`` (kW -> kWh; energy units as they are)."""
    return _energy_unit(unit, 1.0)[0]


def _energy_unit(unit: str, step_h: float) -> tuple[str, float]:
    """The unit of summed energy and the factor that turns one reading into it."""
    key = (unit or "").strip().lower()
    if key in POWER_UNITS:
        return POWER_UNITS[key], step_h
    return unit or "", 1.0


def _empty() -> pd.DataFrame:
    return _EMPTY.copy()


_DTYPES = {  # of COLUMNS; the others are float64
    "event_id": "int64",
    "n_points": "int64",
    "start": "datetime64[ns]",
    "end": "datetime64[ns]",
    "type": "object",
    "cause": "object",
}
_EMPTY = pd.DataFrame({c: np.array([], dtype=_DTYPES.get(c, "float64")) for c in COLUMNS})


def _event(
    scored: pd.DataFrame,
    flag: np.ndarray,
    a: int,
    b: int,
    step_h: float,
    unit: str,
    per_reading: float,
    median_expected: float,
    names: np.ndarray | None = None,
    kind: str | None = None,
) -> dict:
    part = scored.iloc[a:b]
    value = part["value"].to_numpy(dtype=float)
    expected = _column(part, "expected")
    deviation = _column(part, "deviation")
    if np.isnan(deviation).all():
        deviation = value - expected
    score = _column(part, "score")
    actual_e = float(np.nansum(value) * per_reading)
    expected_e = float(np.nansum(expected) * per_reading)
    info = _Span(
        part=part,
        value=value,
        expected=expected,
        deviation=deviation,
        score=score,
        steps=b - a,
        step_h=step_h,
        unit=unit,
        median_expected=median_expected,
        holiday=(holiday := _holiday_of(names[a:b]) if names is not None else ""),
        holiday_day=part.index[np.flatnonzero(names[a:b] == holiday)[0]] if holiday else None,
    )
    kind = kind or _type(info)
    return {
        "start": part.index[0],
        "end": part.index[-1],
        "duration_h": (b - a) * step_h,
        "n_points": int(flag[a:b].sum()),
        "peak_score": float(np.nanmax(score)) if np.isfinite(score).any() else np.nan,
        "mean_score": _mean_flagged(score, flag[a:b]),
        "actual": actual_e,
        "expected": expected_e,
        "excess": actual_e - expected_e,
        "type": kind,
        "cause": _cause(kind, info),
    }


def _mean_flagged(score: np.ndarray, flagged: np.ndarray) -> float:
    """The mean calibrated score of an event's flagged readings (the gaps it bridges left out):
    how anomalous the event is as a whole, where the peak says how anomalous its worst reading is."""
    inside = score[flagged & np.isfinite(score)]
    return float(inside.mean()) if inside.size else np.nan


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return frame[name].to_numpy(dtype=float)


class _Span:
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
def _holiday_of(names: np.ndarray) -> str:
    """The holiday most of the event falls on ("" when fewer than half its readings do)."""
    named = names[names != ""]
    if named.size * 2 < names.size or named.size == 0:
        return ""
    uniq, counts = np.unique(named, return_counts=True)
    return str(uniq[counts.argmax()])


def _type(s: _Span) -> str:
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
def _cause(kind: str, s: _Span) -> str:
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


def _peak_position(s: _Span) -> int:
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


def _rate(expected_mean: float, s: _Span) -> str:
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
