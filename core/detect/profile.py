"""The robust same-time-of-week profile: what a reading usually is at that weekday and time of day.

One implementation for every front door: offline scoring fills ``expected / lower / upper`` from it
when a detector does not forecast, and live detection learns it once from the warm-up and judges
every new reading by it. ``fit_profile(value)`` learns it; ``WeekProfile.band(index)`` applies it to
any index, so a profile learned on a warm-up gives the same numbers offline and live.

Per slot (weekday x minute of day) the profile holds the median reading and the median absolute
deviation from it; a slot the reference never saw falls back to the same time of day on any weekday,
then to the whole reference. The band is ``k`` robust sigmas (``MAD_TO_SIGMA`` x MAD) wide.

With at least two years of readings (``YEAR_MIN_DAYS``) the profile also follows the yearly
pattern (``year_pattern``): a level per day of the year (the median of that day's departures from
the week profile over all years, smoothed over a month) is added to the usual reading, and a spread
per day of the year widens or narrows the band, so a summer that is hotter and more variable than
spring every year is not an anomaly. With less history no yearly pattern can be told from a
one-off, and the profile is the week profile alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MAD_TO_SIGMA = 1.4826  # MAD of a normal sample times this is its standard deviation
PROFILE_K = 3.0  # half-width of the profile band in robust sigmas
YEAR_MIN_DAYS = 730  # history needed before the profile follows the yearly pattern
YEAR_SMOOTH_DAYS = 31  # the yearly pattern is smoothed over this many days (centred, wrapping)
YEAR_SCALE_BOUNDS = (0.25, 4.0)  # a day of the year is at most 4x calmer / livelier than usual
DAYS_IN_YEAR = 365  # 31 December of a leap year shares the day of 30 December


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


def day_of_year(index: pd.DatetimeIndex) -> np.ndarray:
    """0-based day of the year of each timestamp (0 .. 364)."""
    return np.minimum(np.asarray(index.dayofyear), DAYS_IN_YEAR) - 1


def _by_day_of_year(daily: pd.Series) -> np.ndarray:
    """Median over the years of ``daily`` (one value per day) per day of the year, smoothed over
    ``YEAR_SMOOTH_DAYS`` with the year wrapping round; NaN where no day was seen nearby."""
    per_day = daily.groupby(day_of_year(daily.index)).median().reindex(range(DAYS_IN_YEAR))
    half = YEAR_SMOOTH_DAYS // 2
    a = per_day.to_numpy(dtype=float)
    wrapped = pd.Series(np.concatenate([a[-half:], a, a[:half]]))
    smooth = wrapped.rolling(YEAR_SMOOTH_DAYS, center=True, min_periods=half // 2).median()
    return smooth.to_numpy()[half:-half]


def year_pattern(resid: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """``(level, scale)`` per day of the year (arrays of ``DAYS_IN_YEAR``) of ``resid``, the
    readings minus their week profile: ``level`` is the usual departure on that day of the year,
    ``scale`` how much more (> 1) or less (< 1) than usual readings vary around it then. ``None``
    when ``resid`` covers less than ``YEAR_MIN_DAYS`` or has no finite value."""
    r = resid.astype(float).dropna()
    if r.empty or r.index[-1] - r.index[0] < pd.Timedelta(days=YEAR_MIN_DAYS):
        return None
    days = r.index.normalize()
    level = _by_day_of_year(r.groupby(days).median())
    level = np.nan_to_num(
        level, nan=float(np.nanmedian(level)) if np.isfinite(level).any() else 0.0
    )
    spread = (r - level[day_of_year(r.index)]).abs()
    usual = float(spread.median())
    if not usual > 0:
        return level, np.ones(DAYS_IN_YEAR)
    by_day = _by_day_of_year(spread.groupby(days).median()) / usual
    scale = np.clip(np.nan_to_num(by_day, nan=1.0), *YEAR_SCALE_BOUNDS)
    return level, scale


@dataclass(frozen=True)
class WeekProfile:
    """Medians and MADs per time-of-week slot, with the fallbacks, learned from one reference series."""

    slot_median: pd.Series
    minute_median: pd.Series
    median: float
    slot_mad: pd.Series
    minute_mad: pd.Series
    mad: float
    # (level, scale) per day of the year (``year_pattern``), or None: the week profile alone
    year: tuple[np.ndarray, np.ndarray] | None = field(default=None, compare=False)

    def expected(self, index: pd.DatetimeIndex) -> np.ndarray:
        """The usual reading at each timestamp of ``index``."""
        slot, minute = _slots(index)
        med = _lookup(slot, minute, self.slot_median, self.minute_median, self.median)
        if self.year is not None:
            med = med + self.year[0][day_of_year(index)]
        return med

    def band(self, index: pd.DatetimeIndex, k: float = PROFILE_K) -> pd.DataFrame:
        """``DataFrame[expected, lower, upper]`` on ``index``: the median and ``k`` robust sigmas."""
        slot, minute = _slots(index)
        med = self.expected(index)
        mad = _lookup(slot, minute, self.slot_mad, self.minute_mad, self.mad)
        if self.year is not None:
            mad = mad * self.year[1][day_of_year(index)]
        half = k * MAD_TO_SIGMA * np.nan_to_num(mad, nan=0.0)
        return pd.DataFrame(
            {"expected": med, "lower": med - half, "upper": med + half}, index=index
        )


def fit_profile(value: pd.Series, *, yearly: bool = True) -> WeekProfile:
    """Learn the profile of ``value`` (a Series on a DatetimeIndex; NaN readings are ignored);
    with ``yearly`` it follows the yearly pattern when ``value`` spans two years or more."""
    v = value.astype(float)
    slot, minute = _slots(v.index)
    slot_median = v.groupby(slot).median()
    minute_median = v.groupby(minute).median()
    median = float(v.median())
    med = _lookup(slot, minute, slot_median, minute_median, median)
    year = year_pattern(v - med) if yearly else None
    dev = v - med
    if year is not None:  # spreads around the yearly level, in units of the day of year's spread
        doy = day_of_year(v.index)
        dev = (dev - year[0][doy]) / year[1][doy]
    abs_dev = dev.abs()
    overall_mad = abs_dev.median()
    return WeekProfile(
        slot_median=slot_median,
        minute_median=minute_median,
        median=median,
        slot_mad=abs_dev.groupby(slot).median(),
        minute_mad=abs_dev.groupby(minute).median(),
        mad=float(overall_mad) if np.isfinite(overall_mad) else 0.0,
        year=year,
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
