"""The meter's series over time as plotly Figures: the raw readings (``series_figure``) and the scored
series with its expected band, a red marker on every flagged point and events shaded red
(``anomaly_figure``).

Lines are downsampled for display (``core.charts.style.display_positions``; a chart opened zoomed to
an ``x_range`` draws that window at full resolution, ``window_positions``, with a y-axis that fits
it); the "Anomalies" trace is
not: every flagged point gets its marker, up to ``MAX_MARKERS`` (past that, one marker per event, on
its highest score, says in its hover how many flagged readings it stands for; per stretch of the time
axis when the events are too many as well).
Times go in as ``json_times`` / ``json_time`` give them, so ``st.plotly_chart`` writes the figure
on plotly's fast JSON path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.charts.style import (
    ACTUAL_BLUE,
    ANOMALY_RED,
    BAND_FILL,
    EVENT_FILL,
    EXPECTED_GREY,
    MAX_MARKERS,
    MAX_POINTS,
    display_positions,
    json_time,
    json_times,
    marker_positions,
    value_range,
    window_positions,
    with_layout,
)


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
            x=json_times(frame.index[pos]),
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
                x=json_times(frame.index[tpos]),
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
    with_layout(fig, title=title, unit=unit, template=template)
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
    max_markers: int = MAX_MARKERS,
    template: str | None = None,
) -> go.Figure:
    """Actual vs expected with the expected band, every flagged point as a red marker, events shaded red.

    ``scored`` is the pipeline's scored frame (``value``, ``score`` and, when known, ``expected``,
    ``lower``, ``upper``); ``flags`` is a boolean Series on the same index. The trace named "Anomalies"
    holds exactly one marker per flagged point (up to ``max_markers``), whatever the downsampling of
    the lines.
    """
    values = scored["value"].to_numpy(dtype=float)
    pos = window_positions(scored.index, values, x_range, max_points)
    x = json_times(scored.index[pos])
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
    if "label" in scored.columns and (scored["label"] == 1).any():
        fig.add_trace(label_trace(scored, unit=unit, max_markers=max_markers))
    if show_anomalies:
        fig.add_trace(anomaly_trace(scored, flags, events, unit=unit, max_markers=max_markers))
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
    with_layout(fig, title=title, unit=unit, template=template)
    if x_range is not None:
        fig.update_xaxes(range=[json_time(x_range[0]), json_time(x_range[1])])
        drawn = [values]
        if show_band and {"lower", "upper"} <= set(scored.columns):
            drawn += [scored["lower"].to_numpy(dtype=float), scored["upper"].to_numpy(dtype=float)]
        nonnegative = np.nanmin(values, initial=0.0) >= 0
        y = value_range(scored.index, drawn, x_range, floor=0.0 if nonnegative else None)
        if y is not None:
            fig.update_yaxes(range=y)
    return fig


LABEL_ORANGE = "#ff7f0e"


def label_trace(
    scored: pd.DataFrame, *, unit: str = "", max_markers: int = MAX_MARKERS
) -> go.Scatter:
    """The file's own anomaly labels (``label == 1``) as orange crosses under the red markers, so a
    person sees at a glance which labelled faults the detector caught (thinned like the markers)."""
    hit = scored.loc[scored["label"].to_numpy() == 1]
    keep, _ = marker_positions(hit.index, np.ones(len(hit)), max_markers)
    hit = hit.iloc[keep]
    return go.Scatter(
        x=json_times(hit.index),
        y=hit["value"].to_numpy(dtype=float),
        mode="markers",
        name="Labelled anomaly",
        marker={"color": LABEL_ORANGE, "symbol": "x-thin-open", "size": 11, "line": {"width": 2}},
        hovertemplate="%{x}<br>labelled anomaly, %{y:.3f} " + unit + "<extra>label</extra>",
    )


def anomaly_trace(
    scored: pd.DataFrame,
    flags: pd.Series,
    events: pd.DataFrame | None = None,
    *,
    unit: str = "",
    max_markers: int = MAX_MARKERS,
) -> go.Scatter:
    """One red marker per flagged point; hover shows time, actual, expected, score, type and cause.

    Past ``max_markers`` flagged points, one marker per event (``event_positions``; per stretch of
    time, ``marker_positions``, when the events are too many as well), its hover ending with how
    many flagged readings it stands for.
    """
    mask = flags.reindex(scored.index, fill_value=False).fillna(False).to_numpy(dtype=bool)
    hit = scored.loc[mask]
    score = hit["score"] if "score" in hit.columns else pd.Series(np.nan, index=hit.index)
    found = event_positions(hit.index, score.to_numpy(dtype=float), events, max_markers)
    keep, counts = found or marker_positions(hit.index, score.to_numpy(dtype=float), max_markers)
    grouped = len(keep) < len(hit)
    hit, score = hit.iloc[keep], score.iloc[keep]
    info = point_events(hit.index, events)
    expected = hit["expected"] if "expected" in hit.columns else pd.Series(np.nan, index=hit.index)
    # plain lists, not an object array: plotly writes those on its fast JSON path
    columns = [
        expected.to_numpy(dtype=float).tolist(),
        score.to_numpy(dtype=float).tolist(),
        info["type"].astype(str).tolist(),
        info["cause"].astype(str).tolist(),
    ]
    more = ""
    if grouped:
        where = "this event" if found else "this stretch"
        columns.append([f"{n:,} flagged readings in {where}" if n > 1 else "" for n in counts])
        more = "<br>%{customdata[4]}"
    return go.Scatter(
        x=json_times(hit.index),
        y=hit["value"].to_numpy(dtype=float),
        mode="markers",
        name="Anomalies",
        marker={"color": ANOMALY_RED, "size": 7, "line": {"width": 0}},
        customdata=[list(row) for row in zip(*columns, strict=True)],
        hovertemplate=(
            "<b>%{x}</b><br>actual %{y:.3f} "
            + unit
            + "<br>expected %{customdata[0]:.3f} "
            + unit
            + "<br>score %{customdata[1]:.2f}<br>type %{customdata[2]}<br>%{customdata[3]}"
            + more
            + "<extra>anomaly</extra>"
        ),
    )


def event_positions(
    index: pd.DatetimeIndex,
    score: np.ndarray,
    events: pd.DataFrame | None,
    max_markers: int = MAX_MARKERS,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Past ``max_markers`` flagged readings (``index``, sorted): one marker per event, on its
    highest score, and how many flagged readings each stands for; None when the readings fit, when
    there are no events, or when the events themselves are too many (then ``marker_positions``).

    55,000 flagged readings of a 2.4 M-row file are a few hundred events: a marker per event is what
    a person can see and click, and its hover says how many readings it stands for.
    """
    n = len(index)
    if n <= max_markers or events is None or events.empty or len(events) > max_markers:
        return None
    starts = pd.DatetimeIndex(pd.to_datetime(events["start"])).as_unit("ns")
    ends = pd.DatetimeIndex(pd.to_datetime(events["end"])).as_unit("ns")
    ts = pd.DatetimeIndex(index).as_unit("ns")
    if ts.tz is None and starts.tz is not None:
        ts = ts.tz_localize(starts.tz)
    elif ts.tz is not None and starts.tz is None:
        starts, ends = starts.tz_localize(ts.tz), ends.tz_localize(ts.tz)
    order = np.argsort(starts.asi8)
    s, e = starts.asi8[order], ends.asi8[order]
    k = np.searchsorted(s, ts.asi8, side="right") - 1
    inside = (k >= 0) & (ts.asi8 <= e[np.clip(k, 0, None)])
    group = np.where(inside, k, len(s) + np.arange(n))  # a reading outside every event: its own
    key = np.where(np.isnan(score), -np.inf, np.asarray(score, dtype=np.float64))
    by = np.lexsort((-key, group))  # by group, highest score first within each
    first = np.ones(n, dtype=bool)
    first[1:] = group[by][1:] != group[by][:-1]
    keep = by[first]
    if len(keep) > max_markers:
        return None
    _, inverse, sizes = np.unique(group, return_inverse=True, return_counts=True)
    counts = sizes[inverse[keep]]
    at = np.argsort(keep)
    return keep[at], counts[at]


def _event_spans(events: pd.DataFrame | None, limit: int = 300) -> list[tuple[str, str]]:
    """Start/end pairs (ISO strings) to shade; the largest ``limit`` events only, since each is a
    layout shape."""
    if events is None or events.empty:
        return []
    ev = events
    if len(ev) > limit:
        key = ev["excess"].abs() if "excess" in ev else ev["n_points"]
        ev = ev.loc[key.sort_values(ascending=False).index[:limit]]
    starts, ends = pd.to_datetime(ev["start"]), pd.to_datetime(ev["end"])
    return [(json_time(a), json_time(b)) for a, b in zip(starts, ends, strict=True)]


CONTEXT_DAYS = 3  # "around the event": the event and this many days either side


def event_context_figure(
    scored: pd.DataFrame,
    flags: pd.Series,
    events: pd.DataFrame | None,
    event: pd.Series,
    *,
    days: float = CONTEXT_DAYS,
    unit: str = "",
    title: str | None = None,
    template: str | None = None,
) -> go.Figure:
    """``anomaly_figure`` of the event and ``days`` either side, at full resolution, its x-axis
    fixed to that window: only the events overlapping it are shaded (a shape outside the window
    would stretch the axis to the whole dataset)."""
    pad = pd.Timedelta(days=days)
    lo, hi = pd.Timestamp(event["start"]) - pad, pd.Timestamp(event["end"]) + pad
    window = scored.loc[lo:hi]
    near = events
    if events is not None and not events.empty:
        ends, starts = pd.to_datetime(events["end"]), pd.to_datetime(events["start"])
        near = events[(ends >= lo) & (starts <= hi)]
    return anomaly_figure(
        window,
        flags.reindex(window.index, fill_value=False),
        near,
        unit=unit,
        title=title,
        x_range=(max(lo, window.index[0]), min(hi, window.index[-1])) if len(window) else None,
        template=template,
    )
