"""Pure function: live simulation state -> plotly Figure. New anomalies red, the warm-up grey."""

from __future__ import annotations

import functools

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from core.charts.style import ACTUAL_BLUE, ANOMALY_RED, EXPECTED_GREY
from core.live.engine import INJECTION_TITLES, LiveState

INJECTED_ORANGE = "#ff7f0e"


@functools.lru_cache(maxsize=8)
def _template(name: str) -> dict:
    """A named plotly template as plain JSON (unvalidated figures do not resolve names)."""
    return pio.templates[name].to_plotly_json()


def live_figure(
    state: LiveState, *, last: int = 300, unit: str = "", template: str | None = None
) -> go.Figure:
    """The last ``last`` readings: history grey, the stream blue, expected dotted, flags red.

    The trace named "Anomalies" holds one marker per flagged live reading in view; injected readings
    get an orange ring so a person can see what was injected and whether it was caught.
    """
    view = state.buffer.iloc[-last:]
    live = view["live"].to_numpy(dtype=bool)
    values = view["value"].to_numpy(dtype=float)
    traces: list[dict] = []
    traces.append(
        dict(
            type="scatter",
            x=view.index,
            y=view["expected"].to_numpy(dtype=float),
            mode="lines",
            name="Expected",
            line={"color": EXPECTED_GREY, "width": 1, "dash": "dot"},
            hoverinfo="skip",
        )
    )
    traces.append(
        dict(
            type="scatter",
            x=view.index,
            y=np.where(live, np.nan, values),
            mode="lines",
            name="Warm-up",
            line={"color": EXPECTED_GREY, "width": 1.2},
            hovertemplate="%{x}<br>%{y:.3f} " + unit + "<extra>warm-up</extra>",
        )
    )
    # the stream line starts at the last warm-up reading so the two lines join
    first_live = int(np.argmax(live)) if live.any() else len(live)
    stream_y = np.where(np.arange(len(live)) >= max(first_live - 1, 0), values, np.nan)
    traces.append(
        dict(
            type="scatter",
            x=view.index,
            y=stream_y if live.any() else np.full(len(live), np.nan),
            mode="lines",
            name="Stream",
            line={"color": ACTUAL_BLUE, "width": 1.4},
            customdata=view["score"].to_numpy(dtype=float),
            hovertemplate="%{x}<br>%{y:.3f} " + unit + "<br>score %{customdata:.2f}<extra></extra>",
        )
    )
    injected = view[view["injected"].ne("")]
    if len(injected):
        traces.append(
            dict(
                type="scatter",
                x=injected.index,
                y=injected["value"].to_numpy(dtype=float),
                mode="markers",
                name="Injected",
                marker={
                    "color": "rgba(0,0,0,0)",
                    "size": 12,
                    "line": {"color": INJECTED_ORANGE, "width": 2},
                },
                text=[INJECTION_TITLES.get(k, k) for k in injected["injected"]],
                hovertemplate="%{x}<br>injected: %{text}<extra></extra>",
            )
        )
    hit = view[view["flag"].to_numpy(dtype=bool) & live]
    traces.append(
        dict(
            type="scatter",
            x=hit.index,
            y=hit["value"].to_numpy(dtype=float),
            mode="markers",
            name="Anomalies",
            marker={"color": ANOMALY_RED, "size": 8, "line": {"width": 0}},
            customdata=np.column_stack(
                [hit["expected"].to_numpy(dtype=float), hit["score"].to_numpy(dtype=float)]
            )
            if len(hit)
            else np.empty((0, 2)),
            hovertemplate=(
                "<b>%{x}</b><br>actual %{y:.3f} "
                + unit
                + "<br>expected %{customdata[0]:.3f}<br>score %{customdata[1]:.2f}"
                "<extra>anomaly</extra>"
            ),
        )
    )
    layout = dict(
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "xanchor": "left", "x": 0},
        yaxis={"title": {"text": unit}},
        height=420,
        uirevision="live",  # keep the user's zoom while the chart updates in place
    )
    if template:
        layout["template"] = _template(template)
    # built from plain dicts without plotly's per-property validation: validation alone cost 20-40 ms
    # a tick, a fifth of the budget; the structure is pinned by the tests instead
    return go.Figure(data=traces, layout=layout, _validate=False)
