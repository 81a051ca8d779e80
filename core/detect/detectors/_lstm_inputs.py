"""What the LSTM detector is fed, before any model exists: the grid step and window length, the
calendar inputs, gap-filled readings, and the pre-filter (:func:`suspect_points`) that keeps readings
which already look anomalous out of the training targets and the residual statistics.

Pure NumPy / pandas: no TensorFlow here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from core.detect.profile import MAD_TO_SIGMA


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
