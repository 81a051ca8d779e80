"""Pure functions: explanations -> plotly Figures (SHAP bar, beeswarm, waterfall, input positions).

Red always means "towards anomalous" for Isolation Forest contributions (``ANOMALY_RED``); for a
forecast (LSTM, Prophet) red means "pushed the forecast up" and blue "pushed it down".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts.style import ACTUAL_BLUE, ANOMALY_RED, EXPECTED_GREY
from core.explain.types import Explanation, GlobalExplanation

LOW_BLUE = "#1f77b4"


def _names(labels: tuple[str, ...], names: tuple[str, ...]) -> list[str]:
    """Readable labels, with the column name added where two features share a label."""
    counts = pd.Series(labels).value_counts()
    return [
        f"{lab} ({n})" if counts[lab] > 1 else lab for lab, n in zip(labels, names, strict=True)
    ]


WRAP_AT = 26  # characters per line of a feature label: a phone keeps room for the bars


def _wrap(label: str, width: int = WRAP_AT) -> str:
    """A long label broken into lines of about ``width`` characters (plotly's ``<br>``)."""
    import textwrap

    return "<br>".join(textwrap.wrap(str(label), width)) or str(label)


def _layout(fig: go.Figure, *, title: str | None, template: str | None, height: int) -> go.Figure:
    if template:
        fig.update_layout(template=template)
    fig.update_layout(
        title=title,
        margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 10},
        height=height,
        showlegend=False,
    )
    # long feature labels and axis titles push the plot over instead of being cut off
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def importance_figure(
    g: GlobalExplanation, *, top: int = 15, title: str | None = None, template: str | None = None
) -> go.Figure:
    """Horizontal bars of mean |SHAP| per feature, the most important at the top."""
    imp = g.importance().head(top)
    names = dict(zip(g.feature_names, _names(g.feature_labels, g.feature_names), strict=True))
    fig = go.Figure(
        go.Bar(
            x=imp["mean_abs"][::-1],
            y=[_wrap(names[f]) for f in imp["feature"][::-1]],
            orientation="h",
            marker={"color": ANOMALY_RED},
            name="Mean |SHAP|",
            hovertemplate="%{y}<br>mean |SHAP| %{x:.3f}<extra></extra>",
        )
    )
    fig.update_xaxes(title="mean |SHAP value| (average push towards anomalous)")
    return _layout(fig, title=title, template=template, height=max(260, 28 * len(imp) + 80))


def beeswarm_figure(
    g: GlobalExplanation,
    *,
    top: int = 12,
    seed: int = 0,
    title: str | None = None,
    template: str | None = None,
) -> go.Figure:
    """One row per feature (most important on top), one dot per sampled reading at its SHAP value,
    coloured by the feature's value from low (blue) to high (red), jittered so dots do not stack."""
    imp = g.importance().head(top)
    names = dict(zip(g.feature_names, _names(g.feature_labels, g.feature_names), strict=True))
    rng = np.random.default_rng(seed)
    xs, ys, colors, texts = [], [], [], []
    order = list(imp["feature"])[::-1]  # plotly draws the first category at the bottom
    for row, feature in enumerate(order):
        j = g.feature_names.index(feature)
        values = g.values[:, j]
        data = g.data[:, j]
        rank = pd.Series(data).rank(pct=True).to_numpy()  # colour by rank: robust to skew
        xs.append(values)
        ys.append(row + rng.uniform(-0.32, 0.32, size=values.size))
        colors.append(np.nan_to_num(rank, nan=0.5))
        texts.extend(f"{names[feature]} = {d:.3g}" for d in data)
    fig = go.Figure(
        go.Scattergl(
            x=np.concatenate(xs) if xs else [],
            y=np.concatenate(ys) if ys else [],
            mode="markers",
            name="Readings",
            text=texts,
            marker={
                "size": 4,
                "color": np.concatenate(colors) if colors else [],
                "colorscale": [[0.0, LOW_BLUE], [0.5, "#c7c7c7"], [1.0, ANOMALY_RED]],
                "cmin": 0.0,
                "cmax": 1.0,
                "colorbar": {
                    "title": {"text": "feature value"},
                    "tickvals": [0, 1],
                    "ticktext": ["low", "high"],
                    "thickness": 12,
                },
            },
            hovertemplate="%{text}<br>SHAP %{x:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(
        tickvals=list(range(len(order))),
        ticktext=[_wrap(names[f]) for f in order],
        range=[-0.6, len(order) - 0.4],
    )
    fig.update_xaxes(title="SHAP value (positive = towards anomalous)", zeroline=True)
    fig.add_vline(x=0, line_width=1, line_color=EXPECTED_GREY)
    return _layout(fig, title=title, template=template, height=max(300, 34 * len(order) + 90))


def waterfall_figure(
    e: Explanation, *, top: int = 10, title: str | None = None, template: str | None = None
) -> go.Figure:
    """From the base value through the biggest contributions (by readable label) to the output.

    Contributions beyond ``top`` are summed into one "other" step, so the bars always end at the
    model output.
    """
    g = e.by_label()
    head, rest = g.head(top), g.iloc[top:]
    labels = ["base value", *head["label"], *([f"{len(rest)} other inputs"] if len(rest) else [])]
    steps = [e.base_value, *head["value"], *([rest["value"].sum()] if len(rest) else [])]
    total = e.base_value + float(np.sum(e.values))
    measure = ["absolute", *["relative"] * (len(steps) - 1), "total"]
    out_name = {
        "isolation_forest": "anomaly output",
        "lstm": "forecast",
        "prophet": "forecast",
        "learned": "log-odds of an anomaly",
    }
    # in order (a waterfall sums from its first bar: reversed, the total came first and was empty);
    # the y-axis is reversed instead, so the base value sits on top and the output at the bottom
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            y=[_wrap(lab) for lab in [*labels, out_name.get(e.method, "output")]],
            x=[*steps, total],
            measure=measure,
            increasing={"marker": {"color": ANOMALY_RED}},
            decreasing={"marker": {"color": LOW_BLUE}},
            totals={"marker": {"color": EXPECTED_GREY}},
            connector={"line": {"color": "rgba(127,127,127,0.4)", "width": 1}},
            name="Contributions",
            hovertemplate="%{y}<br>%{x:+.3f}<extra></extra>",
        )
    )
    fig.update_xaxes(title=e.output)
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title=title, template=template, height=max(300, 38 * len(labels) + 110))


def positions_figure(
    e: Explanation, *, title: str | None = None, template: str | None = None
) -> go.Figure:
    """LSTM: one bar per input position, oldest lag on the left, calendar inputs on the right."""
    colors = [ANOMALY_RED if v > 0 else LOW_BLUE for v in e.values]
    fig = go.Figure(
        go.Bar(
            x=list(e.feature_labels),
            y=e.values,
            marker={"color": colors},
            customdata=e.data,
            name="Contribution",
            hovertemplate="%{x}<br>input %{customdata:.3g}<br>contribution %{y:+.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(title=f"contribution to the {e.output}")
    fig.update_xaxes(tickangle=-45)
    return _layout(fig, title=title, template=template, height=360)


def actual_expected_figure(
    actual: float, expected: float, *, unit: str = "", template: str | None = None
) -> go.Figure:
    """Two bars: what the meter read and what was expected at the explained point."""
    fig = go.Figure(
        go.Bar(
            x=["Actual", "Expected"],
            y=[actual, expected],
            marker={"color": [ACTUAL_BLUE, EXPECTED_GREY]},
            text=[f"{actual:,.1f}", f"{expected:,.1f}"],
            textposition="auto",
            name="Reading",
        )
    )
    fig.update_yaxes(title=unit)
    return _layout(fig, title=None, template=template, height=260)
