"""Pure functions: data -> plotly Figure. Anomalies are always drawn in ``ANOMALY_RED``.

Long series are downsampled for display only (MinMaxLTTB keeps the peaks and dips a person would look
for); flagged points are never downsampled away: every anomaly gets its marker.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from tsdownsample import MinMaxLTTBDownsampler, NaNMinMaxLTTBDownsampler

ANOMALY_RED = "#d62728"
ACTUAL_BLUE = "#1f77b4"
EXPECTED_GREY = "#7f7f7f"
BAND_FILL = "rgba(127, 127, 127, 0.18)"
EVENT_FILL = "rgba(214, 39, 40, 0.13)"
LSTM_PURPLE = "#9467bd"
MAX_POINTS = 4000  # per line trace; a browser stays smooth well past this, a phone does not


def display_positions(
    index: pd.DatetimeIndex, values: np.ndarray, max_points: int = MAX_POINTS
) -> np.ndarray:
    """Positions of the points to draw: all of them when short, else a MinMaxLTTB selection.

    NaNs are kept as gaps (the NaN-aware variant returns them) so a drop-out stays visible.
    """
    n = len(index)
    if n <= max_points:
        return np.arange(n)
    x = index.asi8.astype(np.int64)
    y = np.asarray(values, dtype=np.float64)
    sampler = NaNMinMaxLTTBDownsampler() if np.isnan(y).any() else MinMaxLTTBDownsampler()
    pos = sampler.downsample(x, y, n_out=max_points)
    return np.unique(np.asarray(pos, dtype=np.int64))


def _layout(fig: go.Figure, *, title: str | None, unit: str, template: str | None) -> go.Figure:
    if template:
        fig.update_layout(template=template)
    fig.update_layout(
        title=title,
        hovermode="closest",
        margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "xanchor": "left", "x": 0},
        yaxis_title=unit,
        height=460,
    )
    return fig


def series_figure(
    frame: pd.DataFrame,
    *,
    unit: str = "",
    title: str | None = None,
    max_points: int = MAX_POINTS,
    template: str | None = None,
) -> go.Figure:
    """The ``value`` column as a line (downsampled for display), temperature on a second axis if present."""
    values = frame["value"].to_numpy(dtype=float)
    pos = display_positions(frame.index, values, max_points)
    has_temp = "temperature" in frame.columns
    fig = make_subplots(specs=[[{"secondary_y": has_temp}]])
    fig.add_trace(
        go.Scattergl(
            x=frame.index[pos],
            y=values[pos],
            mode="lines",
            name="Consumption",
            line={"color": ACTUAL_BLUE, "width": 1},
            hovertemplate="%{x}<br>%{y:.3f} " + unit + "<extra></extra>",
        ),
        secondary_y=False,
    )
    if has_temp:
        temp = frame["temperature"].to_numpy(dtype=float)
        tpos = display_positions(frame.index, temp, max_points)
        fig.add_trace(
            go.Scattergl(
                x=frame.index[tpos],
                y=temp[tpos],
                mode="lines",
                name="Temperature",
                line={"color": "#ff7f0e", "width": 1},
                opacity=0.6,
                hovertemplate="%{x}<br>%{y:.1f} °C<extra></extra>",
            ),
            secondary_y=True,
        )
        fig.update_yaxes(title_text="°C", secondary_y=True, showgrid=False)
    _layout(fig, title=title, unit=unit, template=template)
    fig.update_yaxes(title_text=unit, secondary_y=False)
    return fig


def point_events(index: pd.Index, events: pd.DataFrame | None) -> pd.DataFrame:
    """For each timestamp in ``index``: the ``type`` and ``cause`` of the event containing it ("" if none)."""
    out = pd.DataFrame({"type": "", "cause": ""}, index=index)
    if events is None or events.empty or len(index) == 0:
        return out
    starts = pd.DatetimeIndex(events["start"])
    ends = pd.DatetimeIndex(events["end"])
    order = np.argsort(starts.asi8)
    starts, ends = starts[order], ends[order]
    types = events["type"].astype(str).to_numpy()[order]
    causes = events["cause"].astype(str).to_numpy()[order] if "cause" in events else types
    ts = pd.DatetimeIndex(index)
    if ts.tz is None and starts.tz is not None:
        ts = ts.tz_localize(starts.tz)
    elif ts.tz is not None and starts.tz is None:
        starts, ends = starts.tz_localize(ts.tz), ends.tz_localize(ts.tz)
    k = np.searchsorted(starts.asi8, ts.asi8, side="right") - 1
    inside = (k >= 0) & (ts.asi8 <= ends.asi8[np.clip(k, 0, None)])
    out.loc[inside, "type"] = types[k[inside]]
    out.loc[inside, "cause"] = causes[k[inside]]
    return out


def anomaly_figure(
    scored: pd.DataFrame,
    flags: pd.Series,
    events: pd.DataFrame | None = None,
    *,
    unit: str = "",
    title: str | None = None,
    show_anomalies: bool = True,
    show_band: bool = True,
    x_range: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    max_points: int = MAX_POINTS,
    template: str | None = None,
) -> go.Figure:
    """Actual vs expected with the expected band, every flagged point as a red marker, events shaded red.

    ``scored`` is the pipeline's scored frame (``value``, ``score`` and, when known, ``expected``,
    ``lower``, ``upper``); ``flags`` is a boolean Series on the same index. The trace named "Anomalies"
    holds exactly one marker per flagged point, whatever the downsampling of the lines.
    """
    values = scored["value"].to_numpy(dtype=float)
    pos = display_positions(scored.index, values, max_points)
    x = scored.index[pos]
    fig = go.Figure()
    has_expected = "expected" in scored.columns and scored["expected"].notna().any()
    if show_band and {"lower", "upper"} <= set(scored.columns) and scored["upper"].notna().any():
        lower = scored["lower"].to_numpy(dtype=float)[pos]
        if np.nanmin(values, initial=0.0) >= 0:  # a meter that never reads below zero
            lower = np.maximum(lower, 0.0)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=scored["upper"].to_numpy(dtype=float)[pos],
                mode="lines",
                line={"width": 0},
                name="Expected range (upper)",
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=lower,
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=BAND_FILL,
                name="Expected range",
                hoverinfo="skip",
            )
        )
    if has_expected:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=scored["expected"].to_numpy(dtype=float)[pos],
                mode="lines",
                name="Expected",
                line={"color": EXPECTED_GREY, "width": 1, "dash": "dot"},
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=values[pos],
            mode="lines",
            name="Actual",
            line={"color": ACTUAL_BLUE, "width": 1.2},
            hovertemplate="%{x}<br>actual %{y:.3f} " + unit + "<extra></extra>",
        )
    )
    if show_anomalies:
        fig.add_trace(anomaly_trace(scored, flags, events, unit=unit))
        # one layout update: add_vrect per event re-validates every shape each time (quadratic)
        spans = [
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": start,
                "x1": end,
                "y0": 0,
                "y1": 1,
                "fillcolor": EVENT_FILL,
                "line": {"width": 0},
                "layer": "below",
            }
            for start, end in _event_spans(events)
        ]
        fig.update_layout(shapes=spans)
    _layout(fig, title=title, unit=unit, template=template)
    if x_range is not None:
        fig.update_xaxes(range=[pd.Timestamp(x_range[0]), pd.Timestamp(x_range[1])])
    return fig


def anomaly_trace(
    scored: pd.DataFrame, flags: pd.Series, events: pd.DataFrame | None = None, *, unit: str = ""
) -> go.Scatter:
    """One red marker per flagged point; hover shows time, actual, expected, score, type and cause."""
    mask = flags.reindex(scored.index, fill_value=False).fillna(False).to_numpy(dtype=bool)
    hit = scored.loc[mask]
    info = point_events(hit.index, events)
    expected = hit["expected"] if "expected" in hit.columns else pd.Series(np.nan, index=hit.index)
    score = hit["score"] if "score" in hit.columns else pd.Series(np.nan, index=hit.index)
    custom = (
        np.column_stack(
            [
                expected.to_numpy(dtype=float),
                score.to_numpy(dtype=float),
                info["type"].to_numpy(dtype=object),
                info["cause"].to_numpy(dtype=object),
            ]
        )
        if len(hit)
        else np.empty((0, 4), dtype=object)
    )
    return go.Scatter(
        x=hit.index,
        y=hit["value"].to_numpy(dtype=float),
        mode="markers",
        name="Anomalies",
        marker={"color": ANOMALY_RED, "size": 7, "line": {"width": 0}},
        customdata=custom,
        hovertemplate=(
            "<b>%{x}</b><br>actual %{y:.3f} "
            + unit
            + "<br>expected %{customdata[0]:.3f} "
            + unit
            + "<br>score %{customdata[1]:.2f}<br>type %{customdata[2]}<br>%{customdata[3]}"
            "<extra>anomaly</extra>"
        ),
    )


def _event_spans(events: pd.DataFrame | None, limit: int = 300) -> list[tuple]:
    """Start/end pairs to shade; the largest ``limit`` events only, since each is a layout shape."""
    if events is None or events.empty:
        return []
    ev = events
    if len(ev) > limit:
        key = ev["excess"].abs() if "excess" in ev else ev["n_points"]
        ev = ev.loc[key.sort_values(ascending=False).index[:limit]]
    return list(zip(pd.to_datetime(ev["start"]), pd.to_datetime(ev["end"]), strict=True))


def forecast_figure(
    history: pd.DataFrame,
    actual: pd.Series,
    future: pd.DataFrame | None = None,
    *,
    lstm: pd.DataFrame | None = None,
    unit: str = "",
    title: str | None = None,
    max_points: int = MAX_POINTS,
    template: str | None = None,
    x_range: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> go.Figure:
    """Actuals, the fitted forecast over the same period and the forecast ahead with its band.

    ``history``/``future``/``lstm`` are ``core.forecast.forecasting.Forecast`` frames indexed by time with
    ``expected`` and optionally ``lower``/``upper``; ``lstm`` is drawn over its horizon only.
    """
    fig = go.Figure()
    pred = pd.concat([f for f in (history, future) if f is not None and len(f)]).sort_index()
    pred = pred[~pred.index.duplicated(keep="last")]
    ppos = display_positions(pred.index, pred["expected"].to_numpy(dtype=float), max_points)
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
    apos = display_positions(actual.index, avals, max_points)
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
        lpos = display_positions(lstm.index, lstm["expected"].to_numpy(dtype=float), max_points)
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
    if future is not None and len(future):
        fig.add_vline(x=future.index[0], line_dash="dot", line_color=EXPECTED_GREY)
    _layout(fig, title=title, unit=unit, template=template)
    if x_range is not None:  # initial zoom; a double click shows everything
        fig.update_xaxes(range=[pd.Timestamp(x_range[0]), pd.Timestamp(x_range[1])])
    return fig


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


def theme_template(theme_type: str | None) -> str:
    """The plotly template that matches Streamlit's theme type ("dark" -> "plotly_dark")."""
    return "plotly_dark" if theme_type == "dark" else "plotly_white"
