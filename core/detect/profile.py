"""The robust same-time-of-week profile: what a reading usually is at that weekday and time of day.

One implementation for every front door: offline scoring fills ``expected / lower / upper`` from it
when a detector does not forecast, and live detection learns it once from the warm-up and judges
every new reading by it. ``fit_profile(value)`` learns it; ``WeekProfile.band(index)`` applies it to
any index, so a profile learned on a warm-up gives the same numbers offline and live.

Per slot (weekday x minute of day) the profile holds the median reading and the median absolute
deviation from it; a slot the reference never saw falls back to the same time of day on any weekday,
then to the whole reference. The band is ``k`` robust sigmas (``MAD_TO_SIGMA`` x MAD) wide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MAD_TO_SIGMA = 1.4826  # MAD of a normal sample times this is its standard deviation
PROFILE_K = 3.0  # half-width of the profile band in robust sigmas


def robust_sigma(values: np.ndarray | pd.Series) -> float:
    """``MAD_TO_SIGMA`` x MAD of the finite values; the standard deviation when the MAD is 0; 1 if empty."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 1.0
    mad = MAD_TO_SIGMA * float(np.median(np.abs(v - np.median(v))))
    return mad if mad > 0 else float(np.std(v)) or 1.0


def _slots(index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """(minute of the week, minute of the day) of each timestamp."""
    minute = np.asarray(index.hour * 60 + index.minute)
    return np.asarray(index.dayofweek * 1440) + minute, minute


@dataclass(frozen=True)
class WeekProfile:
    """Medians and MADs per time-of-week slot, with the fallbacks, learned from one reference series."""

    slot_median: pd.Series
    minute_median: pd.Series
    median: float
    slot_mad: pd.Series
    minute_mad: pd.Series
    mad: float

    def expected(self, index: pd.DatetimeIndex) -> np.ndarray:
        """The usual reading at each timestamp of ``index``."""
        slot, minute = _slots(index)
        return _lookup(slot, minute, self.slot_median, self.minute_median, self.median)

    def band(self, index: pd.DatetimeIndex, k: float = PROFILE_K) -> pd.DataFrame:
        """``DataFrame[expected, lower, upper]`` on ``index``: the median and ``k`` robust sigmas."""
        slot, minute = _slots(index)
        med = _lookup(slot, minute, self.slot_median, self.minute_median, self.median)
        mad = _lookup(slot, minute, self.slot_mad, self.minute_mad, self.mad)
        half = k * MAD_TO_SIGMA * np.nan_to_num(mad, nan=0.0)
        return pd.DataFrame(
            {"expected": med, "lower": med - half, "upper": med + half}, index=index
        )


def fit_profile(value: pd.Series) -> WeekProfile:
    """Learn the profile of ``value`` (a Series on a DatetimeIndex; NaN readings are ignored)."""
    v = value.astype(float)
    slot, minute = _slots(v.index)
    slot_median = v.groupby(slot).median()
    minute_median = v.groupby(minute).median()
    median = float(v.median())
    med = _lookup(slot, minute, slot_median, minute_median, median)
    abs_dev = (v - med).abs()
    overall_mad = abs_dev.median()
    return WeekProfile(
        slot_median=slot_median,
        minute_median=minute_median,
        median=median,
        slot_mad=abs_dev.groupby(slot).median(),
        minute_mad=abs_dev.groupby(minute).median(),
        mad=float(overall_mad) if np.isfinite(overall_mad) else 0.0,
    )


def weekly_profile(value: pd.Series, k: float = PROFILE_K) -> pd.DataFrame:
    """The band of ``value``'s own profile on its own index (``fit_profile(value).band(...)``)."""
    return fit_profile(value).band(value.index, k)


def _lookup(
    slot: np.ndarray, minute: np.ndarray, by_slot: pd.Series, by_minute: pd.Series, overall: float
) -> np.ndarray:
    out = by_slot.reindex(slot).to_numpy(dtype=float, copy=True)
    missing = np.isnan(out)
    if missing.any():
        out[missing] = by_minute.reindex(minute[missing]).to_numpy(dtype=float)
        out[np.isnan(out)] = overall
    return out
