"""The carpet plot: consumption as a day x hour heatmap, anomalies outlined (``carpet_figure``).

Energy managers read a building's schedule off it at a glance: a lit band of night hours is
night-time waste, a band that starts earlier week by week is schedule drift, a dark weekday a
holiday. One row per day (per week past ``MAX_DAYS`` days, so sixteen years stay one readable
picture), one column per hour of the day (readings within an hour averaged); each cell that holds a
flagged reading is outlined in ``ANOMALY_RED``.

For data longer than a year, ``year_on_year_figure`` lays each year's daily mean over the same
January-December axis, so a summer peak reads as the season it is (every year has it) and a
day with flagged readings stands out as a red dot on its year's line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts.style import ANOMALY_RED, MAX_MARKERS

MAX_DAYS = 1_100  # rows of one day each up to about three years; weeks past that
HOURS = np.arange(24)


def carpet_cells(
    scored: pd.DataFrame, flags: pd.Series, *, max_days: int = MAX_DAYS
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The heatmap's cells: mean ``value`` per (row, hour) with rows = days (or weeks past
    ``max_days``), the number of flagged readings per cell, and the row unit ("day" / "week")."""
    index = pd.DatetimeIndex(scored.index)
    wall = index.tz_localize(None) if index.tz is not None else index
    days = wall.normalize()
    n_days = days.nunique()
    per = "day" if n_days <= max_days else "week"
    rows = days if per == "day" else days - pd.to_timedelta(days.dayofweek, unit="D")
    frame = pd.DataFrame(
        {
            "row": rows,
            "hour": wall.hour,
            "value": scored["value"].to_numpy(dtype=float),
            "flag": flags.reindex(scored.index, fill_value=False).fillna(False).to_numpy(bool),
        }
    )
    grouped = frame.groupby(["row", "hour"])
    values = grouped["value"].mean().unstack("hour").reindex(columns=HOURS)
    flagged = grouped["flag"].sum().unstack("hour").reindex(columns=HOURS).fillna(0).astype(int)
    return values, flagged, per


def carpet_figure(
    scored: pd.DataFrame,
    flags: pd.Series,
    *,
    unit: str = "",
    title: str | None = None,
    max_days: int = MAX_DAYS,
    max_markers: int = MAX_MARKERS,
    template: str | None = None,
) -> go.Figure:
    """A heatmap of mean consumption per day (rows, oldest on top) and hour (columns), with an
    outlined square on every cell that holds a flagged reading (trace "Anomalies"; the most flagged
    ``max_markers`` cells when there are more)."""
    values, flagged, per = carpet_cells(scored, flags, max_days=max_days)
    labels = [d.strftime("%Y-%m-%d") for d in values.index]
    fig = go.Figure(
        go.Heatmap(
            z=values.to_numpy(dtype=float).tolist(),
            x=HOURS.tolist(),
            y=labels,
            colorscale="Viridis",
            colorbar={"title": {"text": unit}, "thickness": 12},
            name="Consumption",
            hovertemplate=(
                f"{per} of %{{y}}<br>%{{x}}:00<br>mean %{{z:.3f}} {unit}<extra></extra>"
            ),
        )
    )
    r, c = np.nonzero(flagged.to_numpy() > 0)
    if len(r) > max_markers:
        keep = np.argsort(-flagged.to_numpy()[r, c], kind="stable")[:max_markers]
        r, c = r[keep], c[keep]
    counts = flagged.to_numpy()[r, c]
    fig.add_trace(
        go.Scatter(
            x=HOURS[c].tolist(),
            y=[labels[i] for i in r],
            mode="markers",
            name="Anomalies",
            marker={
                "symbol": "square-open",
                "color": ANOMALY_RED,
                "size": 9,
                "line": {"width": 2, "color": ANOMALY_RED},
            },
            customdata=counts.tolist(),
            hovertemplate="%{y} %{x}:00<br>%{customdata} flagged readings<extra>anomaly</extra>",
        )
    )
    if template:
        fig.update_layout(template=template)
    fig.update_layout(
        title=title,
        height=min(max(320, 3 * len(labels) + 120), 720),
        margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "xanchor": "left", "x": 0},
    )
    fig.update_xaxes(title="hour of the day", tickmode="array", tickvals=list(range(0, 24, 3)))
    fig.update_yaxes(title=per, autorange="reversed")
    return fig


YEAR_ON_YEAR_MIN_DAYS = 400  # a year and a bit: below that there is no other year to compare with


def year_on_year_figure(
    scored: pd.DataFrame,
    flags: pd.Series,
    *,
    unit: str = "",
    title: str | None = None,
    template: str | None = None,
) -> go.Figure:
    """One line per calendar year of daily mean consumption over a shared Jan-Dec axis (the
    newest year darkest), and a red dot on each day that holds a flagged reading."""
    index = pd.DatetimeIndex(scored.index)
    wall = index.tz_localize(None) if index.tz is not None else index
    days = wall.normalize()
    daily = pd.Series(scored["value"].to_numpy(dtype=float), index=days).groupby(level=0).mean()
    flagged = (
        pd.Series(flags.reindex(scored.index, fill_value=False).fillna(False).to_numpy(bool), days)
        .groupby(level=0)
        .any()
    )
    # every year on the axis of 2000 (a leap year, so 29 February has its place)
    axis = pd.to_datetime(
        {"year": 2000, "month": daily.index.month, "day": daily.index.day}
    ).to_numpy()
    years = sorted(set(daily.index.year))
    fig = go.Figure()
    for i, year in enumerate(years):
        on = daily.index.year == year
        shade = 0.25 + 0.75 * (i + 1) / len(years)
        fig.add_trace(
            go.Scatter(
                x=axis[on],
                y=daily.to_numpy()[on],
                mode="lines",
                name=str(year),
                line={"width": 1.2, "color": f"rgba(31, 119, 180, {shade:.2f})"},
                hovertemplate=f"{year} %{{x|%d %b}}<br>mean %{{y:.3f}} {unit}<extra></extra>",
            )
        )
    hit = flagged.reindex(daily.index, fill_value=False).to_numpy(bool)
    fig.add_trace(
        go.Scatter(
            x=axis[hit],
            y=daily.to_numpy()[hit],
            mode="markers",
            name="Anomalies",
            marker={"color": ANOMALY_RED, "size": 5},
            customdata=[d.strftime("%Y-%m-%d") for d in daily.index[hit]],
            hovertemplate="%{customdata}<br>a day with flagged readings<extra>anomaly</extra>",
        )
    )
    if template:
        fig.update_layout(template=template)
    fig.update_layout(
        title=title,
        height=380,
        margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "xanchor": "left", "x": 0},
        yaxis_title=f"daily mean ({unit})" if unit else "daily mean",
    )
    fig.update_xaxes(tickformat="%b", dtick="M1")
    return fig
