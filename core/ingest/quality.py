"""Measurements of what a meter series looks like: step, duplicates, gaps, runs, registers.

Pure, vectorised functions over numpy / pandas, so a million readings take well under a second.
Each returns plain JSON-ready values; :mod:`core.ingest.cleaning` decides what to do with them and
:mod:`core.ingest.data` puts them into :class:`core.ingest.data.QualityReport`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

EXAMPLES = 5  # examples listed per finding; counts are always complete
FLAT_MIN_HOURS = 3  # identical readings for this long (and at least 3 readings) count as a flat run


def fmt_time(ts: Any) -> str:
    """``2014-11-02 01:00`` style: seconds only when they are not zero."""
    ts = pd.Timestamp(ts)
    text = ts.strftime("%Y-%m-%d %H:%M:%S" if ts.second or ts.microsecond else "%Y-%m-%d %H:%M")
    return text + (ts.strftime("%z") if ts.tzinfo is not None else "")


def step_label(step: pd.Timedelta) -> str:
    """``Timedelta('1h')`` -> ``"1h"``, 15 minutes -> ``"15min"``, one day -> ``"1D"``."""
    secs = int(step.total_seconds())
    for size, suffix in ((86400, "D"), (3600, "h"), (60, "min")):
        if secs % size == 0:
            return f"{secs // size}{suffix}"
    return f"{secs}s"


def infer_step(ns: np.ndarray) -> pd.Timedelta | None:
    """The most common positive difference between sorted, unique int64 nanosecond stamps."""
    diffs = np.diff(ns)
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        return None
    vals, counts = np.unique(diffs, return_counts=True)
    return pd.Timedelta(int(vals[np.argmax(counts)]), unit="ns")


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start positions and lengths of the runs of True in a boolean array."""
    padded = np.concatenate(([False], mask.astype(bool), [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[0::2], edges[1::2]
    return starts, ends - starts


def runs_summary(
    index: pd.DatetimeIndex, starts: np.ndarray, lengths: np.ndarray
) -> dict[str, Any]:
    """Count, longest and the first few runs, with times a person can look up."""
    if starts.size == 0:
        return {"count": 0, "longest_steps": 0, "longest_start": None, "examples": []}
    longest = int(np.argmax(lengths))
    examples = [
        {"start": fmt_time(index[s]), "end": fmt_time(index[s + n - 1]), "steps": int(n)}
        for s, n in zip(starts[:EXAMPLES], lengths[:EXAMPLES], strict=True)
    ]
    return {
        "count": int(starts.size),
        "longest_steps": int(lengths[longest]),
        "longest_start": fmt_time(index[starts[longest]]),
        "examples": examples,
    }


def gaps(index: pd.DatetimeIndex, missing: np.ndarray, step: pd.Timedelta) -> dict[str, Any]:
    """Runs of grid steps with no row in the file; one-hour spring-forward gaps counted apart."""
    starts, lengths = runs(missing)
    out = runs_summary(index, starts, lengths)
    out["missing_steps"] = int(lengths.sum())
    single = index[starts[lengths == 1]] if starts.size else index[:0]
    out["dst_spring_forward"] = (
        int(_dst_like(single, (3, 4), step).sum()) if step == pd.Timedelta("1h") else 0
    )
    return out


def duplicates(sorted_index: pd.DatetimeIndex, dup_mask: np.ndarray) -> dict[str, Any]:
    """Extra rows sharing a timestamp with an earlier row; fall-back hours counted apart."""
    stamps = sorted_index[dup_mask]
    distinct = stamps.unique()
    return {
        "count": int(dup_mask.sum()),
        "timestamps": int(distinct.size),
        "examples": [fmt_time(t) for t in distinct[:EXAMPLES]],
        "dst_fall_back": int(_dst_like(distinct, (10, 11), None).sum()),
    }


def _dst_like(
    stamps: pd.DatetimeIndex, months: tuple[int, int], step: pd.Timedelta | None
) -> np.ndarray:
    """Sunday, early morning, in the months clocks change: likely daylight-saving artefacts."""
    if stamps.tz is not None:  # offsets already disambiguate local time
        return np.zeros(len(stamps), dtype=bool)
    return np.asarray(
        (stamps.dayofweek == 6)
        & stamps.month.isin(months)
        & (stamps.hour >= 1)
        & (stamps.hour <= 3)
    )


def zero_runs(index: pd.DatetimeIndex, values: np.ndarray) -> dict[str, Any]:
    """Runs of two or more consecutive readings of exactly zero."""
    starts, lengths = runs(values == 0)
    keep = lengths >= 2
    return runs_summary(index, starts[keep], lengths[keep])


def flat_min_steps(step: pd.Timedelta) -> int:
    """Readings in a row that count as stuck: three hours' worth and at least three."""
    return max(3, int(np.ceil(pd.Timedelta(hours=FLAT_MIN_HOURS) / step)))


def flat_runs(index: pd.DatetimeIndex, values: np.ndarray, step: pd.Timedelta) -> dict[str, Any]:
    """Runs of identical, non-zero readings at least :func:`flat_min_steps` long (stuck meter)."""
    same = np.zeros(values.size, dtype=bool)
    same[1:] = (values[1:] == values[:-1]) & (values[1:] != 0)
    starts, lengths = runs(same)
    starts, lengths = starts - 1, lengths + 1  # a run of k equal steps spans k + 1 readings
    min_len = flat_min_steps(step)
    keep = lengths >= min_len
    out = runs_summary(index, starts[keep], lengths[keep])
    out["min_steps"] = min_len
    return out


def is_cumulative(values: np.ndarray) -> bool:
    """A counter that only goes up (allowing a rare reset) rather than use per step."""
    v = values[~np.isnan(values)]
    if v.size < 10:
        return False
    d = np.diff(v)
    if not (d > 0).any():
        return False
    drops = int((d < 0).sum())  # a register may be reset or roll over once or twice
    span = v.max() - v.min()
    typical = np.median(np.abs(d[d != 0])) if (d != 0).any() else 0.0
    return bool(drops <= max(2, 0.01 * d.size) and (d > 0).mean() >= 0.5 and span > 20 * typical)


def register_to_interval(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Differences of a counter; a drop below half the previous reading is a reset/rollover.

    After a reset the counter restarted from zero, so the use in that step is the new reading.
    Returns the interval values (first NaN) and the number of resets.
    """
    out = np.full(values.size, np.nan)
    out[1:] = values[1:] - values[:-1]
    reset = np.zeros(values.size, dtype=bool)
    reset[1:] = (out[1:] < 0) & (values[1:] < 0.5 * values[:-1])
    out[reset] = values[reset]
    return out, int(reset.sum())
