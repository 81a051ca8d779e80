"""Calendar, lag, rolling and weather features, shared by every model and by SHAP.

``feature_frame(frame)`` turns a canonical frame (see ``core.ingest.data``) into one column per engineered
feature on the same index. Lags are counted in steps worked out from the frame's own step, so the
same code serves 15 min, 30 min, hourly and daily meters.

NaN handling
------------
``feature_frame`` never invents numbers: a lag that reaches before the first reading, or a rolling
window with too few readings, is NaN (the "warm-up"), and so is anything computed from a missing
reading. Models decide what to do with that:

* the feature-based detectors (Isolation Forest, LOF, One-Class SVM) impute: warm-up lags fall back
  to the nearest shorter lag, then to the value itself, and the usual reading of the last weeks falls
  back to a week profile learned in training (``core.detect.detectors._common.model_matrix``), so the first
  week is scored; they score NaN only where the reading itself is missing;
* the baselines score NaN during their own warm-up (seasonal naive: the first week; rolling z: until
  half its window has readings) and on missing readings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.detect.profile import MAD_TO_SIGMA

DAY = pd.Timedelta("1D")
WEEK = pd.Timedelta("7D")
SHORT = pd.Timedelta("6h")  # "the surrounding few hours" for smoothed deviations
TYPICAL_WEEKS = 4  # the usual reading = median of the same time over this many previous weeks

FEATURE_LABELS: dict[str, str] = {
    "value": "reading",
    "lag_1": "previous reading",
    "lag_day": "reading at the same time yesterday",
    "lag_week": "reading at the same time last week",
    "diff_1": "change from the previous reading",
    "diff_day": "difference from the same time yesterday",
    "diff_week": "difference from the same time last week",
    "roll_median": "typical reading over the last day",
    "roll_spread": "spread of readings over the last day",
    "dev_roll": "difference from the typical reading over the last day",
    "diff_day_level_week": "change in the daily level from last week",
    "typical": "usual reading at this time of the week (last four weeks)",
    "dev_typical": "difference from the usual reading at this time of the week",
    "dev_typical_short": "difference from the usual reading, over the surrounding six hours",
    "dev_typical_day": "difference from the usual reading, over the surrounding day",
    "hour": "hour of day",
    "weekday": "day of week",
    "holiday": "public holiday",
    "temperature": "outdoor temperature",
}


def step_of(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The frame's step: its declared frequency, else the most common gap between readings."""
    if len(index) < 2:
        return pd.Timedelta("1h")
    if index.freq is not None:
        try:
            return pd.Timedelta(index.freq)
        except (TypeError, ValueError):  # calendar offsets such as month-end have no fixed length
            pass
    gaps = index[1:] - index[:-1]  # a TimedeltaIndex: safe whatever the index's time unit
    return pd.Timedelta(gaps.value_counts().idxmax())


def steps_per(index: pd.DatetimeIndex, period: pd.Timedelta = DAY) -> int:
    """How many steps of this index make up ``period`` (at least one)."""
    return max(1, int(round(period / step_of(index))))


def seasonal_steps(index: pd.DatetimeIndex) -> tuple[int, int]:
    """``(steps per day, steps per week)`` for this index."""
    return steps_per(index, DAY), steps_per(index, WEEK)


def holiday_flags(index: pd.DatetimeIndex, country: str | None) -> np.ndarray:
    """1.0 on public holidays of ``country`` (a ``holidays`` country code), else 0.0."""
    if not country or len(index) == 0:
        return np.zeros(len(index))
    import holidays  # imported lazily: only needed when a country is set

    years = range(index.min().year, index.max().year + 1)
    days = holidays.country_holidays(country, years=years)
    dates = pd.DatetimeIndex(list(days.keys()))
    return np.asarray(index.normalize().isin(dates), dtype=float)


def centred_mean(x: pd.Series, window: int, causal: bool = False) -> pd.Series:
    """Mean over a window centred on each point (shorter at the edges); NaN where all are NaN.

    Centred on purpose: a sustained deviation (a whole day lower than usual) then scores as a block.
    That looks up to ``window // 2`` steps ahead, which is right for a retrospective analysis of a
    year of history; ``causal=True`` uses the trailing window instead, for live detection where a
    reading may be scored only from what came before it.
    """
    if window <= 1:
        return x
    return x.rolling(window, center=not causal, min_periods=1).mean()


def lagged(v: np.ndarray, k: int) -> np.ndarray:
    """``v`` shifted ``k`` steps later (NaN where it reaches before the first reading)."""
    out = np.full(v.shape, np.nan)
    if 0 < k < v.size:
        out[k:] = v[:-k]
    elif k == 0:
        out[:] = v
    return out


def typical_of(v: np.ndarray, week: int) -> np.ndarray:
    """The usual reading at each time of the week: the median of the same time over the
    ``TYPICAL_WEEKS`` previous weeks, over the ones that exist (NaN when none does)."""
    past = np.column_stack([lagged(v, k * week) for k in range(1, TYPICAL_WEEKS + 1)])
    out = np.full(v.shape, np.nan)
    seen = ~np.isnan(past).all(axis=1)
    if seen.all():
        return np.median(past, axis=1) if not np.isnan(past).any() else np.nanmedian(past, axis=1)
    out[seen] = np.nanmedian(past[seen], axis=1)
    return out


def feature_lookback(index: pd.DatetimeIndex) -> int:
    """Readings behind the last one that ``feature_frame`` reads: ``TYPICAL_WEEKS`` weeks of lags,
    a day of rolling median before its week-ago shift, and a day of trailing mean."""
    day, week = seasonal_steps(index)
    return TYPICAL_WEEKS * week + 2 * day


def feature_frame(
    frame: pd.DataFrame, country: str | None = None, causal: bool = False
) -> pd.DataFrame:
    """One column per engineered feature (names in ``FEATURE_LABELS``), on ``frame.index``.

    Parameters
    ----------
    frame
        Canonical frame with a ``value`` column on a regular ``DatetimeIndex``; an optional
        ``temperature`` column is carried through.
    country
        ``holidays`` country code ("US", "GB", ...) for the holiday flag; ``None`` means no holidays.
    causal
        Only trailing windows (no look-ahead), see ``centred_mean``.
    """
    index = frame.index
    day, week = seasonal_steps(index)
    v = frame["value"].astype(float)
    roll = v.rolling(day, min_periods=max(1, day // 2))
    median = roll.median()
    spread = (v - median).abs().rolling(day, min_periods=max(1, day // 2)).median() * MAD_TO_SIGMA
    typical = pd.Series(typical_of(v.to_numpy(), week), index=index)
    dev_typical = v - typical
    out = pd.DataFrame(
        {
            "value": v,
            "lag_1": v.shift(1),
            "lag_day": v.shift(day),
            "lag_week": v.shift(week),
            "diff_1": v - v.shift(1),
            "diff_day": v - v.shift(day),
            "diff_week": v - v.shift(week),
            "roll_median": median,
            "roll_spread": spread,
            "dev_roll": v - median.shift(1),
            "diff_day_level_week": median - median.shift(week),
            "typical": typical,
            "dev_typical": dev_typical,
            "dev_typical_short": centred_mean(dev_typical, steps_per(index, SHORT), causal),
            "dev_typical_day": centred_mean(dev_typical, day, causal),
            "hour": index.hour + index.minute / 60.0,
            "weekday": index.dayofweek.astype(float),
            "holiday": holiday_flags(index, country),
        },
        index=index,
    )
    if "temperature" in frame.columns:
        out["temperature"] = frame["temperature"].astype(float)
    return out
