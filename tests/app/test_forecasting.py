"""Forecasting page: Prophet with band and components, the LSTM overlay, cached second visits."""

from __future__ import annotations

import time

import pytest

from core.forecast.forecasting import MODEL_NAMES
from tests.app.conftest import app, chart_spec, metric, open_page

PAGE = "pages/2_forecasting.py"


def test_prophet_forecast_band_and_components():
    """Prophet's forecast, its uncertainty band and one components chart per part are drawn."""
    at = open_page(app(forecast_lstm=False), PAGE)
    names = [t.get("name") for t in chart_spec(at, "forecast_chart")["data"]]
    assert {"Actual", "Prophet forecast", "Uncertainty band"} <= set(names)
    assert "LSTM forecast" not in names
    titles = [a["text"] for a in chart_spec(at, "forecast_components")["layout"]["annotations"]]
    assert "trend" in titles and "weekly" in titles
    assert "days" in [m.label for m in at.metric][0]


def test_horizon_slider_and_second_visit_is_cached():
    """A new horizon re-forecasts from the same fitted model; coming back is instant."""
    at = open_page(app(forecast_lstm=False), PAGE)
    at.slider(key="forecast_days").set_value(7).run()
    assert not at.exception
    assert metric(at, "Expected use, next 7 days")
    started = time.perf_counter()
    open_page(at, "pages/1_upload.py")
    open_page(at, PAGE)
    assert time.perf_counter() - started < 10  # no refit: model and forecast come from the caches


@pytest.mark.slow
def test_lstm_overlay():
    """With the LSTM toggle on, its forecast is overlaid on the same horizon."""
    at = open_page(app(forecast_lstm=True, forecast_days=7), PAGE)
    names = [t.get("name") for t in chart_spec(at, "forecast_chart")["data"]]
    assert "LSTM forecast" in names


@pytest.mark.slow
def test_backtest_table_on_demand():
    """ "Run the backtest" gives MAE, MAPE and RMSE for Prophet, LSTM and seasonal naive."""
    at = open_page(app(forecast_lstm=False), PAGE)
    assert not [d for d in at.dataframe if "mae" in d.value.columns]
    at.button(key="forecast_backtest").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = [d.value for d in at.dataframe if "mae" in d.value.columns][0]
    assert set(table["model"]) == set(MODEL_NAMES.values())  # names a person reads
    assert [s.value for s in at.success if s.value.startswith("Trust ")]
    assert {"mae", "mape", "rmse"} <= set(table.columns)
    assert (table["mae"] > 0).all()
