"""How every chart looks and how much it draws: the colours, the shared layout, the theme, and the
display downsampling.

Anomalies are always drawn in ``ANOMALY_RED``. Long series are downsampled for display only
(MinMaxLTTB keeps the peaks and dips a person would look for); callers draw every flagged point
themselves, so no anomaly is downsampled away, up to ``MAX_MARKERS`` (past that, one marker per
stretch of the time axis stands for the flagged readings in it: ``marker_positions``).

Times go into figures as ``json_times`` / ``json_time`` give them: a form plotly's JSON encoder
(orjson) writes as it is. A ``pd.Timestamp`` or an object array anywhere in a figure sends
``st.plotly_chart`` down plotly's slow path, which converts the whole figure object by object
(three quarters of the chart's cost on every run).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from tsdownsample import MinMaxLTTBDownsampler, NaNMinMaxLTTBDownsampler

ANOMALY_RED = "#d62728"
ACTUAL_BLUE = "#1f77b4"
EXPECTED_GREY = "#7f7f7f"
BAND_FILL = "rgba(127, 127, 127, 0.18)"
EVENT_FILL = "rgba(214, 39, 40, 0.13)"
LSTM_PURPLE = "#9467bd"
MAX_POINTS = 4000  # per line trace; a browser stays smooth well past this, a phone does not
# Anomaly markers are SVG circles (they carry hover text): past a few thousand a browser pans them
# slowly, and a chart this wide has fewer pixel columns than that anyway.
MAX_MARKERS = 5000


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


def window_positions(
    index: pd.DatetimeIndex,
    values: np.ndarray,
    x_range: tuple | None = None,
    max_points: int = MAX_POINTS,
) -> np.ndarray:
    """``display_positions`` of the whole series and, when the chart opens zoomed to ``x_range``,
    the readings inside it thinned for the window alone (all of them when few): a 2-day window of
    16 years of hourly data is drawn at full resolution instead of the 1 point the whole-series
    thinning leaves there, and a double click still shows everything."""
    pos = display_positions(index, values, max_points)
    if x_range is None or len(index) <= max_points:
        return pos
    lo, hi = (_on_axis(index, t) for t in x_range)
    a, b = np.searchsorted(index.asi8, [lo, hi], side="left")
    a, b = max(int(a) - 1, 0), min(int(b) + 1, len(index))  # one reading past each edge
    if b <= a:
        return pos
    inner = a + display_positions(index[a:b], np.asarray(values)[a:b], max_points)
    return np.union1d(pos, inner)


def _on_axis(index: pd.DatetimeIndex, ts) -> int:
    """``ts`` as an int64 on ``index``'s axis (same unit and time zone)."""
    t = pd.Timestamp(ts)
    if index.tz is not None and t.tz is None:
        t = t.tz_localize(index.tz)
    elif index.tz is None and t.tz is not None:
        t = t.tz_localize(None)
    return int(pd.DatetimeIndex([t]).as_unit(index.unit).asi8[0])


def value_range(
    index: pd.DatetimeIndex,
    columns: list[np.ndarray],
    x_range: tuple,
    *,
    floor: float | None = None,
) -> list[float] | None:
    """A y-axis range that fits ``columns`` between the times of ``x_range`` (5 % margin), not
    below ``floor``; None when nothing there is finite. Plotly's own autorange reads the whole
    series, so a window opened zoomed would keep the y-axis of all of it."""
    lo, hi = (_on_axis(index, t) for t in x_range)
    inside = (index.asi8 >= lo) & (index.asi8 <= hi)
    parts = [np.asarray(c, dtype=float)[inside] for c in columns]
    finite = np.concatenate([c[np.isfinite(c)] for c in parts]) if parts else np.array([])
    if finite.size == 0:
        return None
    bottom, top = float(finite.min()), float(finite.max())
    pad = (top - bottom) * 0.05 or max(abs(top) * 0.05, 1.0)
    bottom, top = bottom - pad, top + pad
    if floor is not None:
        bottom = max(bottom, floor)
    return [bottom, top]


def marker_positions(
    index: pd.DatetimeIndex, score: np.ndarray, max_markers: int = MAX_MARKERS
) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``index`` (the flagged readings, sorted) get a marker, and how many readings each
    marker stands for.

    Up to ``max_markers`` every reading gets its own (counts all 1). Past that the time axis is cut
    into ``max_markers`` equal stretches and each stretch with flagged readings gets one marker, on
    its highest score, counting them all: no stretch with an anomaly is left empty.
    """
    n = len(index)
    if n <= max_markers:
        return np.arange(n), np.ones(n, dtype=np.int64)
    t = index.asi8.astype(np.float64)
    span = max(t[-1] - t[0], 1.0)
    stretch = np.minimum(((t - t[0]) / span * max_markers).astype(np.int64), max_markers - 1)
    key = np.where(np.isnan(score), -np.inf, np.asarray(score, dtype=np.float64))
    order = np.lexsort((-key, stretch))  # by stretch, highest score first within each
    first = np.ones(n, dtype=bool)
    first[1:] = stretch[order][1:] != stretch[order][:-1]
    keep = order[first]
    counts = np.bincount(stretch, minlength=max_markers)[stretch[keep]]
    by_time = np.argsort(keep)
    return keep[by_time], counts[by_time]


def json_times(index: pd.DatetimeIndex) -> np.ndarray | list[str]:
    """``index`` as plotly's fast JSON path takes it: ``datetime64`` values for naive times
    (written "2024-01-01T00:00:00"), ISO strings with their UTC offset for aware ones (what plotly
    writes for them itself)."""
    index = pd.DatetimeIndex(index).as_unit("ns")
    if index.tz is None:
        return index.to_numpy()
    wall = index.tz_localize(None).asi8
    offset_s = (wall - index.asi8) // 10**9
    if (wall % 10**9).any() or (offset_s % 60).any():  # fractions of a second: rare, exact
        return [ts.isoformat() for ts in index]
    text = np.datetime_as_string(wall.astype("datetime64[ns]"), unit="s").tolist()
    offsets = offset_s.tolist()
    suffix = {
        o: f"{'-' if o < 0 else '+'}{abs(o) // 3600:02d}:{abs(o) % 3600 // 60:02d}"
        for o in set(offsets)
    }
    return [t + suffix[o] for t, o in zip(text, offsets, strict=True)]


def json_time(ts) -> str:
    """One time as an ISO string (what plotly writes for a ``pd.Timestamp``, without the slow path)."""
    return pd.Timestamp(ts).isoformat()


def with_layout(fig: go.Figure, *, title: str | None, unit: str, template: str | None) -> go.Figure:
    """``fig`` with the house layout: title, closest hover, legend above, the unit on the y axis."""
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


def theme_template(theme_type: str | None) -> str:
    """The plotly template that matches Streamlit's theme type ("dark" -> "plotly_dark")."""
    return "plotly_dark" if theme_type == "dark" else "plotly_white"
