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

Each event's type and its sentence come from ``core.detect.event_kinds`` (its docstring lists the
types and the order they are checked in).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.detect.event_kinds import POWER_UNITS, Span, cause_of, holiday_of, type_of

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

# Neighbouring events of one fault type this many hours apart (or closer) are one event.
MERGE_HOURS: dict[str, float] = {"flat": 24.0, "drop_to_zero": 24.0}


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
    info = Span(
        part=part,
        value=value,
        expected=expected,
        deviation=deviation,
        score=score,
        steps=b - a,
        step_h=step_h,
        unit=unit,
        median_expected=median_expected,
        holiday=(holiday := holiday_of(names[a:b]) if names is not None else ""),
        holiday_day=part.index[np.flatnonzero(names[a:b] == holiday)[0]] if holiday else None,
    )
    kind = kind or type_of(info)
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
        "cause": cause_of(kind, info),
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
