"""What the LSTM detector is fed, before any model exists: the grid step and window length, the
calendar inputs, gap-filled readings, and the pre-filter (:func:`suspect_points`) that keeps readings
which already look anomalous out of the training targets and the residual statistics.

Pure NumPy / pandas: no TensorFlow here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from core.detect.profile import MAD_TO_SIGMA, WeekProfile, robust_sigma


def step_seconds(index: pd.DatetimeIndex) -> float:
    """The grid step in seconds (median spacing, robust to a stray gap)."""
    if len(index) < 2:
        return 3600.0
    return float(np.median(np.diff(index.as_unit("ns").asi8)) / 1e9)


def default_window(index: pd.DatetimeIndex) -> int:
    """One day of steps, kept between 14 (daily data: two weeks) and 48 (30-min data: one day;
    15-min data: 12 hours). Training time grows with the window; the calendar inputs already say
    what time of day it is."""
    per_day = round(86_400 / step_seconds(index))
    return int(np.clip(per_day, 14, 48))


def calendar_inputs(index: pd.DatetimeIndex, country: str | None = None) -> np.ndarray:
    """Hour and weekday on the unit circle plus a holiday flag: shape ``(len(index), 5)``."""
    hour = (index.hour + index.minute / 60).to_numpy(dtype=float)
    dow = index.dayofweek.to_numpy(dtype=float)
    holiday = np.zeros(len(index))
    if country and len(index):
        import holidays

        days = holidays.country_holidays(
            country, years=range(index.year.min(), index.year.max() + 1)
        )
        holiday = np.asarray(index.normalize().tz_localize(None).isin(pd.to_datetime(list(days))))
    return np.column_stack(
        [
            np.sin(2 * np.pi * hour / 24),
            np.cos(2 * np.pi * hour / 24),
            np.sin(2 * np.pi * dow / 7),
            np.cos(2 * np.pi * dow / 7),
            holiday.astype(float),
        ]
    )


def filled(values: pd.Series) -> np.ndarray:
    """Missing readings interpolated in time, ends carried: network inputs cannot be NaN."""
    if values.notna().sum() == 0:
        return np.zeros(len(values))
    return values.interpolate(limit_direction="both").to_numpy(dtype=float)


def _robust_z(v: pd.Series, shifts: list[int], week: int) -> np.ndarray:
    """``|v - median(v shifted by each of shifts)|`` over a robust local scale (one week around,
    never below the whole series' scale)."""
    ref = np.column_stack([v.shift(k).to_numpy() for k in shifts])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # every reference missing
        dev = (v - np.nanmedian(ref, axis=1)).abs()
    overall = float(np.nanmedian(dev)) if dev.notna().any() else 0.0
    local = dev.rolling(week, center=True, min_periods=1).median().fillna(overall).to_numpy()
    scale = MAD_TO_SIGMA * np.maximum(local, overall)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = dev.to_numpy() / scale
    return np.where(scale > 0, z, np.where(dev.to_numpy() > 0, np.inf, 0.0))


def suspect_points(values: pd.Series, *, k: float = 5.0, flat_steps: int = 6) -> np.ndarray:
    """Readings that look anomalous before any model exists (kept out of the training targets).

    * spikes and dips: more than ``k`` robust sigmas from the median of the 4 neighbouring readings
      *and* from the median of the same clock time on the 3 days either side. Both, so that the
      daily switch-on ramp (odd next to its neighbours, normal for 7 a.m.) and a quiet Sunday (odd
      for the time of day, normal next to its neighbours) stay in training. Sigmas are local (the
      surrounding week): a meter noisier in winter is not flagged all winter;
    * zeros in a meter that is almost never zero (< 5 % of readings);
    * flat runs: the same reading ``flat_steps`` times or more in a row, in a meter that usually moves.
    """
    v = values.astype(float)
    per_day = round(86_400 / step_seconds(v.index)) if len(v) > 1 else 1
    week = max(5, 7 * per_day)
    z = _robust_z(v, [-2, -1, 1, 2], week)
    if per_day >= 2:
        z = np.minimum(z, _robust_z(v, [d * per_day for d in (-3, -2, -1, 1, 2, 3)], week))
    out = z > k
    zero = (v == 0).to_numpy()
    if zero.mean() < 0.05:
        out |= zero
    same = v.diff().eq(0)
    run_id = (~same).cumsum()
    run_len = same.groupby(run_id).transform(
        "size"
    )  # rows per run, the first (changing) one included
    if same.mean() < 0.2:
        out |= (run_len >= flat_steps).to_numpy()
    return out & v.notna().to_numpy()


# ---- cleaning the inputs: what the network reads instead of a reading that looks anomalous -------
PROFILE_FIELDS = ("slot_median", "minute_median", "slot_mad", "minute_mad")


def profile_sigma(profile: WeekProfile, index: pd.DatetimeIndex) -> np.ndarray:
    """Robust sigma of ``profile`` at each timestamp, floored at half its overall sigma: a quiet
    slot (the same reading every night) must not make every small wobble look huge."""
    band = profile.band(index, 1.0)
    sigma = (band["upper"] - band["expected"]).to_numpy(dtype=float)
    floor = 0.5 * MAD_TO_SIGMA * profile.mad
    return np.maximum(sigma, floor) if floor > 0 else np.where(sigma > 0, sigma, 1.0)


def causal_outliers(
    values: pd.Series,
    profile: WeekProfile,
    *,
    k: float,
    zeros: bool,
    flat_steps: int | None,
) -> np.ndarray:
    """Readings to replace by the profile before the network reads them, each judged from itself
    and the readings before it only (so scoring stays causal):

    * more than ``k`` profile sigmas from the usual reading of its time of week;
    * a zero, when ``zeros`` (a meter that is almost never zero);
    * the ``flat_steps``-th equal reading in a row and every one after, when ``flat_steps`` is set;
    * missing.
    """
    v = values.astype(float)
    med = profile.expected(v.index)
    out = np.abs(v.to_numpy() - med) > k * profile_sigma(profile, v.index)
    if zeros:
        out |= (v == 0).to_numpy()
    if flat_steps:
        same = v.diff().eq(0)
        run = same.groupby((~same).cumsum()).cumsum()  # equal readings so far, minus the first
        out |= (run >= flat_steps - 1).to_numpy()
    return out | v.isna().to_numpy()


def cleaned(values: pd.Series, replace: np.ndarray, profile: WeekProfile) -> np.ndarray:
    """``values`` with the readings marked in ``replace`` set to the profile's usual reading."""
    v = values.to_numpy(dtype=float).copy()
    v[replace] = profile.expected(values.index[replace])
    return v


def profile_before(profile: WeekProfile, index: pd.DatetimeIndex, steps: int) -> np.ndarray:
    """The profile's usual reading at the ``steps`` grid steps before ``index`` starts: what the
    seasonal lags read where the frame has no history yet."""
    if steps <= 0 or len(index) == 0:
        return np.empty(0)
    step = pd.Timedelta(seconds=step_seconds(index))
    before = pd.date_range(end=index[0] - step, periods=steps, freq=step)
    if index.tz is not None and before.tz is None:
        before = before.tz_localize(index.tz)
    return profile.expected(before)


# ---- seasonal lags: the same time a day and a week before ---------------------------------------
def seasonal_steps(index: pd.DatetimeIndex) -> tuple[int, int]:
    """Grid steps in a day and in a week (at least 1 and 7: daily data lags a day and a week)."""
    per_day = max(1, round(86_400 / step_seconds(index)))
    return per_day, 7 * per_day


def seasonal_lags(
    values: np.ndarray, index: pd.DatetimeIndex, profile: WeekProfile, lags: tuple[int, ...]
) -> np.ndarray:
    """``values`` shifted by each of ``lags`` steps, shape ``(len(values), len(lags))``; where a lag
    reaches before the frame starts, the profile's usual reading for that time stands in."""
    longest = max(lags)
    padded = np.concatenate([profile_before(profile, index, longest), values])
    n = len(values)
    return np.column_stack([padded[longest - k : longest - k + n] for k in lags])


# ---- the local scale of the residuals ------------------------------------------------------------
MIN_PER_BIN = 30  # residuals a bin needs for its own median and MAD (a MAD of 30 is within ~20 %)
LOCAL_FLOOR = 0.5  # a bin's sigma is never below half the overall one, as in profile_sigma


def week_hours(index: pd.DatetimeIndex) -> np.ndarray:
    """The hour of the week, 0 (Monday 00:00) .. 167, of each timestamp."""
    return np.asarray(index.dayofweek * 24 + index.hour)


def local_scale(resid: np.ndarray, index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust sigma of ``resid`` per hour of the week (two arrays of 168).

    Each comes from the finest grouping whose bins typically hold ``MIN_PER_BIN`` residuals: the
    hour of the week (a year of hourly data: 52 each), else the hour of the day (a few weeks of
    5-minute data), else all of them; a bin with fewer takes the overall values. Sigmas are floored
    at ``LOCAL_FLOOR`` times the overall one: a quiet night must not turn small wobbles into alarms.
    """
    ok = np.isfinite(resid)
    r, hours = resid[ok], week_hours(index)[ok]
    center0 = float(np.median(r)) if r.size else 0.0
    sigma0 = robust_sigma(r)
    center, sigma = np.full(168, center0), np.full(168, sigma0)
    bins = np.arange(168)
    for key, of_bin in ((hours, bins), (hours % 24, bins % 24)):
        counts = np.bincount(key, minlength=168)
        if r.size == 0 or np.median(counts[counts > 0]) < MIN_PER_BIN:
            continue
        med = pd.Series(r).groupby(key).median()
        mad = pd.Series(np.abs(r - med.reindex(key).to_numpy())).groupby(key).median()
        full = counts[of_bin] >= MIN_PER_BIN
        center[full] = med.reindex(of_bin[full]).to_numpy()
        sigma[full] = MAD_TO_SIGMA * mad.reindex(of_bin[full]).to_numpy()
        break
    return center, np.maximum(sigma, LOCAL_FLOOR * sigma0)
