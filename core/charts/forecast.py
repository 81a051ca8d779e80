"""Forecasts as plotly Figures: actuals with the Prophet (and LSTM) forecast and its band
(``forecast_figure``), and one small chart per forecast component (``components_figure``).

Opened zoomed (``x_range``: the recent past and the horizon), the window is drawn at full resolution
(``core.charts.style.window_positions``) with a y-axis that fits what is in it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.charts.style import (
    ACTUAL_BLUE,
    EXPECTED_GREY,
    LSTM_PURPLE,
    MAX_POINTS,
    display_positions,
    value_range,
    window_positions,
    with_layout,
)


def forecast_figure(
    history: pd.DataFrame,
    actual: pd.Series,
    future: pd.DataFrame | None = None,
    *,
    lstm: pd.DataFrame | None = None,
    baseline: pd.DataFrame | None = None,
    unit: str = "",
    title: str | None = None,
    max_points: int = MAX_POINTS,
    template: str | None = None,
    x_range: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> go.Figure:
    """Actuals, the fitted forecast over the same period and the forecast ahead with its band.

    ``history``/``future``/``lstm`` are ``core.forecast.forecasting.Forecast`` frames indexed by time with
    ``expected`` and optionally ``lower``/``upper``; ``lstm`` and ``baseline`` (same hour last
    week) are drawn over their horizon only.
    """
    fig = go.Figure()
    pred = pd.concat([f for f in (history, future) if f is not None and len(f)]).sort_index()
    pred = pred[~pred.index.duplicated(keep="last")]
    ppos = window_positions(pred.index, pred["expected"].to_numpy(dtype=float), x_range, max_points)
    px = pred.index[ppos]
    if {"lower", "upper"} <= set(pred.columns):
        fig.add_trace(
            go.Scatter(
                x=px,
                y=pred["upper"].to_numpy(dtype=float)[ppos],
                mode="lines",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
                name="Uncertainty (upper)",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=px,
                y=pred["lower"].to_numpy(dtype=float)[ppos],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(31, 119, 180, 0.18)",
                name="Uncertainty band",
                hoverinfo="skip",
            )
        )
    avals = actual.to_numpy(dtype=float)
    apos = window_positions(actual.index, avals, x_range, max_points)
    fig.add_trace(
        go.Scatter(
            x=actual.index[apos],
            y=avals[apos],
            mode="lines",
            name="Actual",
            line={"color": "#444444", "width": 1},
            hovertemplate="%{x}<br>actual %{y:.3f} " + unit + "<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=px,
            y=pred["expected"].to_numpy(dtype=float)[ppos],
            mode="lines",
            name="Prophet forecast",
            line={"color": ACTUAL_BLUE, "width": 1.4},
            hovertemplate="%{x}<br>Prophet %{y:.3f} " + unit + "<extra></extra>",
        )
    )
    if lstm is not None and len(lstm):
        lvals = lstm["expected"].to_numpy(dtype=float)
        lpos = window_positions(lstm.index, lvals, x_range, max_points)
        fig.add_trace(
            go.Scatter(
                x=lstm.index[lpos],
                y=lstm["expected"].to_numpy(dtype=float)[lpos],
                mode="lines",
                name="LSTM forecast",
                line={"color": LSTM_PURPLE, "width": 1.4, "dash": "dash"},
                hovertemplate="%{x}<br>LSTM %{y:.3f} " + unit + "<extra></extra>",
            )
        )
    if baseline is not None and len(baseline):
        bvals = baseline["expected"].to_numpy(dtype=float)
        bpos = window_positions(baseline.index, bvals, x_range, max_points)
        fig.add_trace(
            go.Scatter(
                x=baseline.index[bpos],
                y=bvals[bpos],
                mode="lines",
                name="Same hour last week",
                line={"color": EXPECTED_GREY, "width": 1.2, "dash": "dot"},
                hovertemplate="%{x}<br>last week %{y:.3f} " + unit + "<extra></extra>",
            )
        )
    if future is not None and len(future):
        fig.add_vline(x=future.index[0], line_dash="dot", line_color=EXPECTED_GREY)
    with_layout(fig, title=title, unit=unit, template=template)
    if x_range is not None:  # initial zoom; a double click shows everything
        fig.update_xaxes(range=[pd.Timestamp(x_range[0]), pd.Timestamp(x_range[1])])
        y = _window_y(actual, pred, lstm, x_range)
        if y is not None:
            fig.update_yaxes(range=y)
    return fig


def _window_y(
    actual: pd.Series, pred: pd.DataFrame, lstm: pd.DataFrame | None, x_range: tuple
) -> list[float] | None:
    """The y-axis of the zoomed view: what is drawn inside ``x_range`` (never below zero for a
    meter that never reads below zero)."""
    parts = [value_range(actual.index, [actual.to_numpy(dtype=float)], x_range)]
    cols = [c for c in ("expected", "lower", "upper") if c in pred.columns]
    parts.append(value_range(pred.index, [pred[c].to_numpy(dtype=float) for c in cols], x_range))
    if lstm is not None and len(lstm):
        parts.append(value_range(lstm.index, [lstm["expected"].to_numpy(dtype=float)], x_range))
    found = [p for p in parts if p is not None]
    if not found:
        return None
    bottom, top = min(p[0] for p in found), max(p[1] for p in found)
    if np.nanmin(actual.to_numpy(dtype=float), initial=0.0) >= 0:
        bottom = max(bottom, 0.0)
    return [bottom, top]


_COMPONENT_ORDER = ("trend", "daily", "weekly", "yearly", "holidays")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def component_profile(name: str, series: pd.Series) -> tuple[pd.Series, str]:
    """What to draw for one component, and the x-axis title.

    Seasonal parts repeat, so one period says everything: ``daily*`` as a mean by hour of day (over
    the rows where it is active: Prophet's weekday/weekend daily parts are zero on the other days),
    ``weekly`` by hour of the week (x in days from Monday), ``yearly`` by day of year. Trend,
    holidays and regressors are drawn over time.
    """
    s = series.dropna()
    idx = pd.DatetimeIndex(s.index)
    if name.startswith("daily"):
        nonzero = (s != 0).groupby(idx.normalize()).transform("any").to_numpy(dtype=bool)
        active = s[nonzero] if nonzero.any() else s  # whole days where the part is switched on
        ai = pd.DatetimeIndex(active.index)
        return active.groupby(ai.hour + ai.minute / 60).mean(), "hour of day"
    if name == "weekly":
        key = idx.dayofweek + (idx.hour + idx.minute / 60) / 24
        return s.groupby(key).mean(), "day of week"
    if name == "yearly":
        return s.groupby(idx.dayofyear).mean(), "day of year"
    return s, ""


def components_figure(
    components: pd.DataFrame,
    *,
    unit: str = "",
    template: str | None = None,
    max_points: int = MAX_POINTS,
) -> go.Figure:
    """One small chart per forecast component (trend, daily, weekly, yearly, holidays, regressors)."""
    present = [c for c in components.columns if components[c].notna().any()]
    present.sort(
        key=lambda c: next(
            (i for i, p in enumerate(_COMPONENT_ORDER) if c.startswith(p)), len(_COMPONENT_ORDER)
        )
    )
    titles = [c.replace("_", " ") for c in present] or ["no components"]
    fig = make_subplots(rows=max(len(present), 1), cols=1, subplot_titles=titles)
    for row, name in enumerate(present, start=1):
        s, xtitle = component_profile(name, components[name])
        if isinstance(s.index, pd.DatetimeIndex):
            pos = display_positions(s.index, s.to_numpy(dtype=float), max_points)
            s = s.iloc[pos]
        fig.add_trace(
            go.Scatter(
                x=s.index,
                y=s.to_numpy(dtype=float),
                mode="lines",
                name=name,
                line={"color": "#ff7f0e" if name == "holidays" else ACTUAL_BLUE, "width": 1.4},
                hovertemplate="%{x}<br>%{y:.3f} " + unit + "<extra>" + name + "</extra>",
            ),
            row=row,
            col=1,
        )
        if xtitle:
            fig.update_xaxes(title_text=xtitle, row=row, col=1)
        if name == "weekly":
            fig.update_xaxes(tickvals=list(range(7)), ticktext=list(_WEEKDAYS), row=row, col=1)
    if template:
        fig.update_layout(template=template)
    fig.update_layout(
        showlegend=False,
        height=max(230 * len(present), 260),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return fig
