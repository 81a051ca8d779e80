"""Forecasting: Prophet (with its uncertainty band and components) and LSTM, plus a backtest."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.charts.forecast import components_figure, forecast_figure
from core.forecast.forecasting import MODEL_NAMES, seasonal_naive_forecast, trusted_model
from core.ui import cache
from core.ui.hosting import LSTM, LSTM_OFF, available
from core.ui.shell import current_dataset, current_ref, plotly_template, require_router
from core.ui.state import kept
from core.ui.status import prepared
from core.ui.text import md_escape

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

# the models forecasting knows (Prophet, the LSTM, the baseline the backtest compares); no LSTM
# where it is off (core.ui.hosting)
models = tuple(available(MODEL_NAMES))
has_lstm = LSTM in models

st.title("Forecasting")
st.caption(
    f"What {md_escape(ds.name)} should consume: Prophet with an uncertainty band"
    + (", an LSTM beside it," if has_lstm else "")
    + " and a backtest on the last weeks of data."
)
if not has_lstm:
    st.caption(LSTM_OFF)

c1, c2, c3 = st.columns(3)
days = c1.slider("Horizon (days)", 1, 90, step=1, key=kept("forecast_days", 30))
country = c2.selectbox(
    "Holidays of", list(COUNTRIES), format_func=COUNTRIES.get, key=kept("forecast_country", "")
)
has_temp = "temperature" in ds.frame.columns
with c3:
    use_temp = st.toggle(
        "Use outdoor temperature",
        disabled=not has_temp,
        key=kept("forecast_temperature", has_temp),
        help="A regressor for Prophet (and the LSTM); the future uses the mean temperature at the same "
        "time of day over the last four weeks."
        if has_temp
        else "This dataset has no temperature column.",
    )
    with_lstm = has_lstm and st.toggle("Overlay the LSTM forecast", key=kept("forecast_lstm", True))

horizon = max(1, int(pd.Timedelta(days=days) / ds.freq))
prophet_settings = cache.ForecastSettings(
    model="prophet",
    horizon_steps=horizon,
    country=country or None,
    use_temperature=bool(use_temp) and has_temp,
)
lstm_settings = cache.ForecastSettings(
    model="lstm", horizon_steps=horizon, use_temperature=bool(use_temp) and has_temp
)


def _run(settings: cache.ForecastSettings, label: str, *, stop: bool):
    """The forecast, with a status box and progress bar only when something has to be computed;
    ``None`` when it failed and ``stop`` is false (the page goes on without it)."""
    if cache.forecast_ready(ref, settings):
        return cache.forecast(ref, settings)
    return prepared(
        label,
        lambda progress: cache.forecast(ref, settings, progress=progress),
        what_to_do="Try a shorter horizon, or another dataset.",
        ready=f"{label}: ready",
        stop=stop,
    )


prophet = _run(prophet_settings, "Prophet", stop=True)
lstm = _run(lstm_settings, "LSTM", stop=False) if with_lstm else None  # an overlay: optional

# the backtest (when it has run) says which model to trust; the headline figures then use it
bt_key = (ref, 2, country or None, models)
table = cache.backtest(*bt_key) if cache.backtest_ready(*bt_key) else None
trusted, verdict = trusted_model(table, ds.unit) if table is not None else ("prophet", "")
baseline = seasonal_naive_forecast(ds.frame, horizon) if trusted == "seasonal_naive" else None
headline = {"lstm": lstm, "seasonal_naive": baseline}.get(trusted) or prophet

end, future_end = ds.frame.index[-1], prophet.future.index[-1]
fig = forecast_figure(
    prophet.history,
    ds.frame["value"],
    prophet.future,
    lstm=None if lstm is None else lstm.future,
    baseline=None if baseline is None else baseline.future,
    unit=ds.unit,
    template=template,
    x_range=(end - max(3 * (future_end - end), pd.Timedelta(days=14)), future_end),
)
st.plotly_chart(fig, key="forecast_chart", config={"displaylogo": False})
st.caption("Zoomed to the recent past and the horizon: double-click the chart to see all of it.")
for note in dict.fromkeys([*prophet.notes, *(lstm.notes if lstm is not None else [])]):
    st.caption(note)

future = headline.future
step_h = ds.freq / pd.Timedelta(hours=1)
is_energy = ds.unit.endswith("h")  # kWh per step is summed; kW is a rate, times hours per step
total = float(future["expected"].sum() * (1.0 if is_energy else step_h))
energy_unit = ds.unit if is_energy else f"{ds.unit}h"
if verdict:
    st.caption(f"Figures from {MODEL_NAMES[headline.model]}, the model the backtest trusts.")
m = st.columns(3)
m[0].metric(f"Expected use, next {days} days", f"{total:,.0f} {energy_unit}")
m[1].metric("Peak expected", f"{float(future['expected'].max()):,.1f} {ds.unit}")
m[2].metric(
    "Mean band width", f"{float((future['upper'] - future['lower']).mean()):,.1f} {ds.unit}"
)

st.subheader("Components")
st.caption(
    "How Prophet splits the series: long-term trend, daily and weekly cycles (and yearly, "
    "holidays and temperature when they apply). Seasonal parts are shown over one period."
)
st.plotly_chart(
    components_figure(prophet.components, unit=ds.unit, template=template),
    key="forecast_components",
    config={"displaylogo": False},
)

st.subheader("Backtest")
st.caption(
    "The last two weeks are held out; each model is trained on the data before them and scored on "
    "them. Same hour last week is the baseline to beat."
)
if st.session_state.get("forecast_backtest_for") == bt_key or table is not None:
    if table is None:
        prepared(
            "Backtesting " + ", ".join(MODEL_NAMES[m] for m in models),
            lambda progress: cache.backtest(*bt_key, progress=progress),
            what_to_do="Try another dataset.",
            ready="Backtest done",
        )
        st.rerun()  # the headline figures above follow the model the backtest trusts
    st.success(verdict, icon=":material/verified:")
    st.dataframe(
        table.assign(model=table["model"].map(lambda m: MODEL_NAMES.get(m, m))),
        hide_index=True,
        key="forecast_backtest_table",
        column_config={
            "model": "Model",
            "mae": st.column_config.NumberColumn(f"MAE ({ds.unit})", format="%.2f"),
            "mape": st.column_config.NumberColumn("MAPE (%)", format="%.1f"),
            "rmse": st.column_config.NumberColumn(f"RMSE ({ds.unit})", format="%.2f"),
        },
    )
elif st.button("Run the backtest", key="forecast_backtest", help="Trains each model once more."):
    st.session_state["forecast_backtest_for"] = bt_key
    st.rerun()
