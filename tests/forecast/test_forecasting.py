"""Forecasts: horizon and grid, bands, components, notes, the backtest table, error metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.detect.detectors.lstm import LSTMDetector
from core.detect.detectors.prophet import ProphetDetector
from core.forecast.forecasting import (
    Forecast,
    backtest,
    forecast_errors,
    future_index,
    lstm_forecast,
    prophet_forecast,
    seasonal_naive_forecast,
    temperature_climatology,
)
from tests.conftest import synthetic_frame

H = 48


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_frame()


def _check_shape(fc: Forecast, frame: pd.DataFrame, horizon: int) -> None:
    step = frame.index[1] - frame.index[0]
    assert list(fc.history.columns) == ["actual", "expected", "lower", "upper"]
    assert fc.history.index.equals(frame.index)
    assert list(fc.future.columns) == ["expected", "lower", "upper"]
    assert len(fc.future) == horizon
    assert fc.future.index[0] == frame.index[-1] + step
    assert (np.diff(fc.future.index.as_unit("ns").asi8) == step.value).all()
    assert fc.components.index.equals(frame.index.append(fc.future.index))
    fut = fc.future
    assert fut.notna().all().all()
    assert ((fut["lower"] <= fut["expected"]) & (fut["expected"] <= fut["upper"])).all()


@pytest.mark.slow
def test_prophet_forecast_reuses_a_fitted_detector(frame, monkeypatch):
    """Given a fitted detector, prophet_forecast does not fit again; horizon, grid, components and
    the temperature note are right."""
    det = ProphetDetector(uncertainty_samples=100).fit(frame)
    monkeypatch.setattr(ProphetDetector, "fit", lambda *a, **k: pytest.fail("fitted twice"))
    fc = prophet_forecast(frame, H, detector=det)
    _check_shape(fc, frame, H)
    assert fc.model == "prophet"
    assert {"trend", "weekly", "daily_weekday", "daily_weekend", "temperature"} <= set(
        fc.components.columns
    )
    assert any("temperature" in n for n in fc.notes)
    width = fc.future["upper"] - fc.future["lower"]
    assert width.iloc[-1] > 0


@pytest.mark.slow
def test_prophet_forecast_without_temperature_has_no_note(frame):
    """Fitting inside prophet_forecast works; without temperature there is no regressor or note."""
    fc = prophet_forecast(frame[["value"]], 24)
    _check_shape(fc, frame, 24)
    assert "temperature" not in fc.components.columns
    assert not any("temperature" in n for n in fc.notes)


@pytest.mark.slow
def test_lstm_forecast_is_recursive_with_a_widening_band(frame):
    """The LSTM forecast covers the horizon on the grid; its band widens with the horizon up to
    the spread of the training readings."""
    det = LSTMDetector(epochs=2, units=8).fit(frame)
    fc = lstm_forecast(det, frame, H)
    _check_shape(fc, frame, H)
    width = (fc.future["upper"] - fc.future["lower"]).to_numpy()
    assert (np.diff(width) >= -1e-9).all() and width[-1] > width[0]
    assert width.max() <= max(det.value_spread_, width[0]) + 1e-9
    assert fc.model == "lstm" and fc.components.columns.empty


def test_seasonal_naive_repeats_last_week_on_the_frames_grid():
    """Seasonal naive on a 15-minute frame: the horizon repeats last week at 15-minute steps."""
    frame = synthetic_frame(n_days=21, freq="15min")
    fc = seasonal_naive_forecast(frame, 200)
    _check_shape(fc, frame, 200)
    week = 7 * 96
    np.testing.assert_allclose(
        fc.future["expected"].to_numpy(), frame["value"].to_numpy()[-week:][:200]
    )
    assert fc.history["expected"].iloc[:week].isna().all()


def test_future_index_keeps_the_time_zone_and_step():
    """The horizon starts one step after the end, in the frame's time zone."""
    idx = pd.date_range("2024-03-01", periods=10, freq="30min", tz="Europe/Paris", name="timestamp")
    fut = future_index(idx, 3)
    assert fut[0] == idx[-1] + pd.Timedelta("30min") and str(fut.tz) == "Europe/Paris"
    assert fut.name == "timestamp"
    with pytest.raises(ValueError):
        future_index(idx, 0)


def test_temperature_climatology_is_the_same_hour_mean():
    """Future temperature is the mean at the same clock time over the recent history."""
    idx = pd.date_range("2024-01-01", periods=24 * 10, freq="1h")
    frame = pd.DataFrame({"value": 1.0, "temperature": idx.hour.astype(float)}, index=idx)
    fut = future_index(idx, 30)
    np.testing.assert_allclose(temperature_climatology(frame, fut), fut.hour.astype(float))


def test_forecast_errors_ignore_zero_actuals_in_mape():
    """MAE and RMSE use every known point; MAPE skips zero actuals instead of dividing by zero."""
    actual = pd.Series([0.0, 10.0, 20.0, np.nan])
    expected = pd.Series([5.0, 12.0, 18.0, 1.0])
    err = forecast_errors(actual, expected)
    assert err["mae"] == pytest.approx(3.0)
    assert err["rmse"] == pytest.approx(np.sqrt((25 + 4 + 4) / 3))
    assert err["mape"] == pytest.approx(15.0)  # (20 % + 10 %) / 2


@pytest.mark.slow
def test_backtest_table_has_the_three_models_with_finite_metrics():
    """backtest holds out the last week and returns model, mae, mape, rmse for each model."""
    frame = synthetic_frame(n_days=21)
    calls: list[float] = []
    table = backtest(
        frame,
        weeks=1,
        lstm_params={"epochs": 1, "units": 8},
        progress=lambda f, m: calls.append(f),
    )
    assert list(table.columns) == ["model", "mae", "mape", "rmse"]
    assert list(table["model"]) == ["prophet", "lstm", "seasonal_naive"]
    assert np.isfinite(table[["mae", "mape", "rmse"]].to_numpy()).all()
    assert (table["rmse"] >= table["mae"]).all()
    assert calls[-1] == 1.0 and calls == sorted(calls)
