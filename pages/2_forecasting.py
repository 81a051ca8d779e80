"""Forecasting: Prophet (with its uncertainty band and components) and LSTM, plus a backtest."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import cache
from core.charts import components_figure, forecast_figure
from pages._sidebar import current_dataset, current_ref, plotly_template, require_router

require_router()

COUNTRIES = {
    "": "No holidays",
    "IT": "Italy",
    "GB": "United Kingdom",
    "US": "United States",
    "FR": "France",
    "DE": "Germany",
    "ES": "Spain",
    "NL": "Netherlands",
    "BE": "Belgium",
    "CH": "Switzerland",
    "AT": "Austria",
    "IE": "Ireland",
    "CA": "Canada",
    "AU": "Australia",
    "JP": "Japan",
    "IN": "India",
}

ds = current_dataset()
ref = current_ref()
template = plotly_template()

st.title("Forecasting")
st.caption(
    f"What {ds.name} should consume: Prophet with an uncertainty band, an LSTM beside it, "
    "and a backtest on the last weeks of data."
)

c1, c2, c3 = st.columns(3)
days = c1.slider("Horizon (days)", 1, 90, 30, 1, key="forecast_days")
country = c2.selectbox(
    "Holidays of", list(COUNTRIES), format_func=COUNTRIES.get, key="forecast_country"
)
has_temp = "temperature" in ds.frame.columns
with c3:
    use_temp = st.toggle(
        "Use outdoor temperature",
        value=has_temp,
        disabled=not has_temp,
        key="forecast_temperature",
        help="Prophet regressor; the future uses the same day-and-hour temperature of the last year."
        if has_temp
        else "This dataset has no temperature column.",
    )
    with_lstm = st.toggle("Overlay the LSTM forecast", value=True, key="forecast_lstm")

horizon = max(1, int(pd.Timedelta(days=days) / ds.freq))
prophet_settings = cache.ForecastSettings(
    model="prophet", horizon_steps=horizon, country=country or None, use_temperature=bool(use_temp)
)
lstm_settings = cache.ForecastSettings(
    model="lstm", horizon_steps=horizon, country=None, use_temperature=bool(use_temp)
)


def _run(settings: cache.ForecastSettings, label: str):
    """The forecast, showing a status with progress when it has to be computed."""
    if cache.forecast_ready(ref, settings):
        return cache.forecast(ref, settings)
    with st.status(f"{label}…", expanded=True) as status:
        bar = st.progress(0.0, text="Loading a saved forecast or training")

        def _progress(fraction: float, message: str) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

        try:
            result = cache.forecast(ref, settings, progress=_progress)
        except ValueError as err:
            status.update(label=f"{label}: not available", state="error", expanded=True)
            st.warning(str(err))
            return None
        status.update(label=f"{label}: ready", state="complete", expanded=False)
    return result


prophet = _run(prophet_settings, "Fitting Prophet")
lstm = _run(lstm_settings, "Training the LSTM") if with_lstm else None

if prophet is None:
    st.stop()

actual = ds.frame["value"]
fig = forecast_figure(
    prophet.history,
    actual,
    prophet.future,
    lstm=None if lstm is None else lstm.future,
    unit=ds.unit,
    template=template,
)
st.plotly_chart(fig, theme=None, key="forecast_chart", config={"displaylogo": False})

future = prophet.future
m = st.columns(3)
step_h = ds.freq / pd.Timedelta(hours=1)
per_step_energy = ds.unit.endswith("h")
total = float(future["yhat"].sum() * (1 if per_step_energy else step_h))
energy_unit = ds.unit if per_step_energy else f"{ds.unit}h"
m[0].metric(f"Expected use, next {days} days", f"{total:,.0f} {energy_unit}")
m[1].metric("Peak expected", f"{float(future['yhat'].max()):,.1f} {ds.unit}")
if {"yhat_lower", "yhat_upper"} <= set(future.columns):
    width = float((future["yhat_upper"] - future["yhat_lower"]).mean())
    m[2].metric("Mean band width (80 %)", f"{width:,.1f} {ds.unit}")

st.subheader("Components")
st.caption(
    "How Prophet splits the series: long-term trend, daily and weekly cycles, yearly season, holidays."
)
st.plotly_chart(
    components_figure(prophet.components, unit=ds.unit, template=template),
    theme=None,
    key="forecast_components",
    config={"displaylogo": False},
)

st.subheader("Backtest")
st.caption(
    "Each model is trained without the last part of the data and scored on it; seasonal naive "
    "(same hour last week) is the baseline to beat."
)
bt_key = (ref, horizon, country or None, bool(use_temp))
if st.session_state.get("forecast_backtest_for") == bt_key or cache.backtest_ready(*bt_key):
    with st.spinner("Backtesting Prophet, LSTM and seasonal naive…"):
        table = cache.backtest(*bt_key)
    st.dataframe(
        table,
        hide_index=True,
        key="forecast_backtest_table",
        column_config={
            "model": "Model",
            "mae": st.column_config.NumberColumn(f"MAE ({ds.unit})", format="%.2f"),
            "mape": st.column_config.NumberColumn("MAPE (%)", format="%.1f"),
            "rmse": st.column_config.NumberColumn(f"RMSE ({ds.unit})", format="%.2f"),
        },
    )
elif st.button("Run the backtest", key="forecast_backtest"):
    st.session_state["forecast_backtest_for"] = bt_key
    st.rerun()
