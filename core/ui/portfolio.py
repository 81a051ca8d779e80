"""The Portfolio page's side of the fleet: the newest fleet run from the store, scoring every
saved meter from the page, and scoring every meter of an upload from the Upload page.

``latest_portfolio(owner)`` reads the newest fleet run and its rows (cached ``TTL_S`` seconds, so a
run stored by the command line or the worker shows up without a restart, and cleared when this
process scores). ``score_saved_meters(owner, choice, progress)`` scores the saved meters with the
session's shared detection settings through ``core.fleet.run.run_fleet``: on the Dask cluster of
``WATTSUP_DASK_SCHEDULER`` when one is set, else in this process (starting a local cluster from a
page would cost more than a small fleet takes to score). ``score_upload(data, filename, schema,
options, choice, progress)`` scores every meter of an uploaded file the same way
(``core.fleet.sources.upload_source``) and returns the summary and the rows in memory: nothing is
stored (the public demo stores nothing), so they are the page's until the session ends.
``table_columns(links=...)`` is the portfolio table's ``column_config``. Nothing here reads a widget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core.fleet.portfolio import FleetSettings
from core.fleet.run import FleetSummary, run_fleet
from core.fleet.runner import Outcome, scheduler_address
from core.fleet.sources import stored_meters, upload_source
from core.ingest.data import CleanOptions, Schema
from core.store.fleet import ROW_KEYS, SqlFleetRepository
from core.ui.meters import database_exists, store
from core.ui.settings import DetectionChoice

TTL_S = 10


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


@st.cache_data(ttl=TTL_S, max_entries=16, show_spinner=False)
def latest_portfolio(owner: str | None = None) -> tuple[dict[str, Any] | None, pd.DataFrame]:
    """(the newest fleet run as a dict, its rows), or (None, no rows) before any run."""
    if not database_exists():
        return None, pd.DataFrame()
    repo = SqlFleetRepository(store())
    run = repo.latest(owner=owner)
    if run is None:
        return None, pd.DataFrame()
    return run.to_dict(), repo.rows(run.id, owner=owner)


def score_saved_meters(
    owner: str | None, choice: DetectionChoice, progress: Callable[[float, str], None]
) -> FleetSummary:
    """Score every saved meter of ``owner`` and store the run; ``progress(fraction, message)``."""
    address = scheduler_address()
    summary = run_fleet(
        stored_meters(store(), owner),
        FleetSettings(choice.detector, choice.threshold),
        repo=SqlFleetRepository(store()),
        owner=owner,
        runner="dask" if address else "local",
        scheduler=address,
        progress=_moved(progress),
    )
    latest_portfolio.clear()
    return summary


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
        progress=_moved(progress),
        on_row=rows.append,
    )
    frame = pd.DataFrame(rows, columns=list(ROW_KEYS))
    frame["sparkline"] = frame["sparkline"].map(lambda s: [] if s is None else list(s))
    return summary, frame


def _moved(progress: Callable[[float, str], None]) -> Callable[[int, int | None, Outcome], None]:
    """A fleet runner's ``progress(done, total, outcome)`` as the status box's bar and line."""

    def moved(done: int, total: int | None, outcome: Outcome) -> None:
        fraction = done / total if total else 0.0
        state = "failed" if outcome.error else "scored"
        progress(fraction, f"{done} of {total or '?'} meters: {outcome.name} {state}")

    return moved
