"""The Portfolio page's side of the fleet: the newest fleet run from the store, scoring every
saved meter from the page.

``latest_portfolio(owner)`` reads the newest fleet run and its rows (cached ``TTL_S`` seconds, so a
run stored by the command line or the worker shows up without a restart, and cleared when this
process scores). ``score_saved_meters(owner, choice, progress)`` scores the saved meters with the
session's shared detection settings through ``core.fleet.run.run_fleet``: on the Dask cluster of
``WATTSUP_DASK_SCHEDULER`` when one is set, else in this process (starting a local cluster from a
page would cost more than a small fleet takes to score). ``core.ui.fleet_scoring`` scores an upload's meters (no store).
Nothing here reads a widget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core.fleet.portfolio import FleetSettings
from core.fleet.run import FleetSummary, run_fleet
from core.fleet.runner import scheduler_address
from core.fleet.sources import stored_meters
from core.store.fleet import SqlFleetRepository
from core.ui.fleet_scoring import moved_progress
from core.ui.meters import database_exists, store
from core.ui.settings import DetectionChoice

TTL_S = 10


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
        progress=moved_progress(progress),
    )
    latest_portfolio.clear()
    return summary
