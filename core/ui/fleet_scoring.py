"""Scoring many meters from a page without the store: the fleet runner's progress as the status
box's bar, every meter of an upload, and the portfolio table's ``column_config``.

``score_upload(data, filename, schema, options, choice, progress)`` scores every meter of an uploaded
file with the session's detection settings (``core.fleet.sources.upload_source``; on the Dask cluster
of ``WATTSUP_DASK_SCHEDULER`` when one is set, else in this process) and returns the summary and the
rows in memory: nothing is stored (the public demo stores nothing), so they are the page's until the
session ends. ``table_columns(links=...)`` is the portfolio table's ``column_config`` (the Portfolio
page's and the Upload page's). Nothing here reads a widget or the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core.fleet.portfolio import FleetSettings
from core.fleet.run import FleetSummary, run_fleet
from core.fleet.runner import Outcome, scheduler_address
from core.fleet.sources import upload_source
from core.ingest.data import CleanOptions, Schema
from core.store.fleet import ROW_KEYS
from core.ui.settings import DetectionChoice


def table_columns(*, links: bool = True) -> dict[str, Any]:
    """``st.dataframe``'s ``column_config`` for ``core.charts.fleet_charts.portfolio_table``;
    ``links=False`` hides the ``open`` links (meters of an upload are not saved, so none opens)."""
    return {
        "meter": st.column_config.TextColumn("Meter", pinned=True),
        "open": (
            st.column_config.LinkColumn("Open", display_text="Open", help="Anomaly detection")
            if links
            else None
        ),
        "site": "Site",
        "building_type": "Type",
        "unit": "Unit",
        "excess_over_kwh": st.column_config.NumberColumn("Over-use (kWh)", format="%.0f"),
        "cost": st.column_config.NumberColumn("Cost", format="%.2f"),
        "excess_under_kwh": st.column_config.NumberColumn("Under-use (kWh)", format="%.0f"),
        "anomaly_hours": st.column_config.NumberColumn("Anomaly hours", format="%.0f"),
        "open_events": "Open events",
        "events": "Events",
        "worst": "Worst event",
        "worst_cause": st.column_config.TextColumn("Cause", width="large"),
        "missing_pct": st.column_config.NumberColumn("Missing %", format="%.1f"),
        "flat_runs": "Flat runs",
        "last_reading": st.column_config.DatetimeColumn("Last reading", format="YYYY-MM-DD HH:mm"),
        "sparkline": st.column_config.LineChartColumn("Daily use", width="medium"),
        "error": "Error",
    }


def score_upload(
    data: bytes,
    filename: str,
    schema: Schema,
    options: CleanOptions,
    choice: DetectionChoice,
    progress: Callable[[float, str], None],
) -> tuple[FleetSummary, pd.DataFrame]:
    """Score every meter of an upload's bytes; (the summary, the rows with ``ROW_KEYS`` as columns,
    as ``latest_portfolio`` gives them). A meter that fails is a row with ``error`` set. Stores
    nothing."""
    rows: list[dict[str, Any]] = []
    address = scheduler_address()
    summary = run_fleet(
        upload_source(data, filename, schema, options),
        FleetSettings(choice.detector, choice.threshold),
        runner="dask" if address else "local",
        scheduler=address,
        progress=moved_progress(progress),
        on_row=rows.append,
    )
    frame = pd.DataFrame(rows, columns=list(ROW_KEYS))
    frame["sparkline"] = frame["sparkline"].map(lambda s: [] if s is None else list(s))
    return summary, frame


def moved_progress(
    progress: Callable[[float, str], None],
) -> Callable[[int, int | None, Outcome], None]:
    """A fleet runner's ``progress(done, total, outcome)`` as the status box's bar and line."""

    def moved(done: int, total: int | None, outcome: Outcome) -> None:
        fraction = done / total if total else 0.0
        state = "failed" if outcome.error else "scored"
        progress(fraction, f"{done} of {total or '?'} meters: {outcome.name} {state}")

    return moved
