"""The Portfolio page's shapes: the meters table (with a link and a sparkline per meter) and the
chart of the fleet's top wasters. Pure ``rows -> DataFrame / Figure``.

``rows`` is a fleet run's rows as ``core.store.fleet.SqlFleetRepository.rows`` returns them (the
columns of ``core.fleet.portfolio.COLUMNS`` plus ``error``) with a ``cost`` column added at the
page's tariff (``core.fleet.portfolio.with_cost``).
"""

from __future__ import annotations

from urllib.parse import quote

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.charts.style import ANOMALY_RED, with_layout
from core.charts.tables import type_name

DETECTION_PAGE = "anomaly_detection"  # url path of the Anomaly detection page (core.ui.shell.NAV)
TABLE_COLUMNS = (
    "meter",
    "open",
    "site",
    "building_type",
    "unit",
    "excess_over_kwh",
    "cost",
    "excess_under_kwh",
    "anomaly_hours",
    "open_events",
    "events",
    "worst",
    "worst_cause",
    "missing_pct",
    "flat_runs",
    "last_reading",
    "sparkline",
    "error",
)
TOP_N = 10


def meter_link(name: str) -> str:
    """The relative URL that opens meter ``name`` on the Anomaly detection page."""
    return f"{DETECTION_PAGE}?meter={quote(str(name), safe='')}"


def portfolio_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The meters as the page's table, most costly first (``TABLE_COLUMNS``).

    ``open`` is each meter's link (``meter_link``), ``worst`` the worst event's type as a person
    reads it, ``missing_pct`` the missing share in %, ``sparkline`` a list of numbers (NaN days
    left out, so the line joins over them).
    """
    if rows.empty:
        return pd.DataFrame(columns=list(TABLE_COLUMNS))
    out = pd.DataFrame(
        {
            "meter": rows["meter"].astype(str),
            "open": rows["meter"].map(meter_link),
            "site": rows["site"],
            "building_type": rows["building_type"],
            "unit": rows["unit"],
            "excess_over_kwh": rows["excess_over_kwh"].astype(float).round(1),
            "cost": rows["cost"].astype(float).round(2),
            "excess_under_kwh": rows["excess_under_kwh"].astype(float).round(1),
            "anomaly_hours": rows["anomaly_hours"].astype(float),
            "open_events": rows["open_events"].astype("Int64"),
            "events": rows["events"].astype("Int64"),
            "worst": rows["worst_type"].map(
                lambda t: None if t is None or pd.isna(t) else type_name(t)
            ),
            "worst_cause": rows["worst_cause"],
            "missing_pct": (rows["missing_share"].astype(float) * 100).round(1),
            "flat_runs": rows["flat_runs"].astype("Int64"),
            "last_reading": pd.to_datetime(rows["last_reading"].map(_naive), errors="coerce"),
            "sparkline": rows["sparkline"].map(_line),
            "error": rows["error"],
        }
    )
    order = np.lexsort((out["meter"].to_numpy(), -out["cost"].fillna(-1).to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def filter_options(rows: pd.DataFrame) -> dict[str, list[str]]:
    """The distinct sites, building types and units of the fleet, for the page's filters."""
    return {
        col: sorted({str(v) for v in rows[col].dropna()}) if col in rows else []
        for col in ("site", "building_type", "unit")
    }


def filtered(rows: pd.DataFrame, chosen: dict[str, list[str]]) -> pd.DataFrame:
    """The rows whose site, building type and unit are among those chosen (empty = any)."""
    keep = np.ones(len(rows), dtype=bool)
    for col, values in chosen.items():
        if values:
            keep &= rows[col].astype("string").isin(values).fillna(False).to_numpy()
    return rows[keep]


def top_wasters_figure(
    rows: pd.DataFrame, *, n: int = TOP_N, currency: str = "", template: str | None = None
) -> go.Figure:
    """A horizontal bar per meter with the most over-use cost (largest on top), worst event in
    the hover."""
    scored = rows[rows["error"].isna()] if "error" in rows else rows
    top = scored.sort_values(["cost", "meter"], ascending=[False, True]).head(n)[::-1]
    hover = [
        f"{m}: {kwh:,.0f} kWh over expected, {currency}{c:,.2f}<br>{type_name(t) if isinstance(t, str) else 'no event'}"
        for m, kwh, c, t in zip(
            top["meter"], top["excess_over_kwh"], top["cost"], top["worst_type"], strict=True
        )
    ]
    fig = go.Figure(
        go.Bar(
            x=top["cost"].astype(float).to_list(),
            y=top["meter"].astype(str).to_list(),
            orientation="h",
            marker_color=ANOMALY_RED,
            hovertext=hover,
            hoverinfo="text",
            name="over-use cost",
        )
    )
    fig = with_layout(fig, title=f"Top {len(top)} wasters", unit="", template=template)
    fig.update_layout(
        xaxis_title=f"over-use cost ({currency or 'per kWh tariff'})",
        height=max(240, 40 + 28 * len(top)),
        showlegend=False,
    )
    return fig


def _line(values) -> list[float]:
    if values is None or (isinstance(values, float) and np.isnan(values)):
        return []
    return [float(v) for v in values if v is not None and np.isfinite(v)]


def _naive(ts):
    """Times of meters in different zones in one column: each as its own wall clock."""
    if ts is None or pd.isna(ts):
        return pd.NaT
    ts = pd.Timestamp(ts)
    return ts.tz_localize(None) if ts.tzinfo is not None else ts
