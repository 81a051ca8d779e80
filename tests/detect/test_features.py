"""Engineered features: lags in steps of the frame's own step, calendar flags, readable labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.detect.features import FEATURE_LABELS, feature_frame, seasonal_steps, steps_per
from tests.conftest import synthetic_frame


@pytest.mark.parametrize(
    ("freq", "day", "week"), [("15min", 96, 672), ("30min", 48, 336), ("1h", 24, 168), ("1D", 1, 7)]
)
def test_steps_per_day_and_week_follow_the_frame_step(freq, day, week):
    """A day and a week are counted in steps of the index, declared or inferred."""
    idx = pd.date_range("2024-01-01", periods=30, freq=freq)
    assert seasonal_steps(idx) == (day, week)
    assert seasonal_steps(pd.DatetimeIndex(list(idx))) == (day, week)  # no declared freq


def test_lags_and_differences_line_up_with_the_past():
    """lag_1 / lag_day / lag_week are the readings one step, one day and one week earlier."""
    frame = synthetic_frame(n_days=14)
    f = feature_frame(frame)
    v = frame["value"]
    t = pd.Timestamp("2023-01-12 13:00")
    assert f.at[t, "lag_1"] == v[t - pd.Timedelta("1h")]
    assert f.at[t, "lag_day"] == v[t - pd.Timedelta("1D")]
    assert f.at[t, "lag_week"] == v[t - pd.Timedelta("7D")]
    assert f.at[t, "diff_week"] == pytest.approx(v[t] - v[t - pd.Timedelta("7D")])
    assert f["lag_week"].iloc[:168].isna().all() and f["lag_week"].iloc[168:].notna().all()


def test_same_index_and_every_column_has_words():
    """The feature frame keeps the index, and every column has a label a person can read."""
    frame = synthetic_frame(n_days=10)
    f = feature_frame(frame)
    assert f.index.equals(frame.index)
    assert set(f.columns) <= set(FEATURE_LABELS)
    assert "temperature" in f.columns
    assert FEATURE_LABELS["hour"] == "hour of day"


def test_holiday_flag_marks_a_known_holiday_only_with_a_country():
    """Christmas Day is a holiday in the US; without a country nothing is a holiday."""
    idx = pd.date_range("2023-12-20", "2023-12-31 23:00", freq="1h", name="timestamp")
    frame = pd.DataFrame({"value": np.ones(len(idx))}, index=idx)
    us = feature_frame(frame, country="US")["holiday"]
    assert us[idx.normalize() == pd.Timestamp("2023-12-25")].eq(1.0).all()
    assert us[idx.normalize() == pd.Timestamp("2023-12-22")].eq(0.0).all()
    assert feature_frame(frame)["holiday"].eq(0.0).all()


def test_missing_reading_stays_missing_and_hour_is_fractional():
    """A missing reading is NaN in its own features (never invented); 15-min hours are fractional."""
    frame = synthetic_frame(n_days=8, freq="15min")
    frame.iloc[500, 0] = np.nan
    f = feature_frame(frame)
    assert np.isnan(f["value"].iloc[500]) and np.isnan(f["diff_1"].iloc[500])
    assert np.isnan(f["diff_1"].iloc[501])
    assert f["hour"].iloc[1] == 0.25
    assert steps_per(frame.index) == 96


def test_usual_reading_is_the_median_of_previous_weeks():
    """``typical`` is the median of the same time over the previous (up to four) weeks."""
    frame = synthetic_frame(n_days=35)
    f = feature_frame(frame)
    t = pd.Timestamp("2023-02-02 09:00")
    past = [frame["value"][t - pd.Timedelta(days=7 * k)] for k in range(1, 5)]
    assert f.at[t, "typical"] == pytest.approx(np.median(past))
    assert f.at[t, "dev_typical"] == pytest.approx(frame["value"][t] - np.median(past))
