"""The detection studio's views, shared by every session: the events table, the events CSV, the
counters and the chart of one setting and date range, each built once.

Twenty people moving a threshold slider on the same sample land on the same few settings; before
these were kept, every move of every session rebuilt its chart and table (about 0.3 s of server
work each, ``benchmarks/load.py``). A ``StudioView`` is keyed on content: the dataset, the
settings, the dates and a digest of the very flags and events it shows, which the page reads from
``core.ui.cache.scored`` / ``flagged`` on every run (cheap hits). Only small things are kept here:
events, tables, bytes and figures thinned for display (``core.charts.style``), never the readings.

The figures are plotly objects shared across sessions: nobody mutates them (``st.plotly_chart``
serialises a copy, the PNG export reads them).

``with_alerted(ref, table, events)`` is not kept: it reads the saved meter's alert log on every
run (``core.alerts.status``: a few indexed queries), so a notification sent by the worker shows
at the next rerun.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.alerts.status import event_alerts, with_alerts
from core.charts import report
from core.charts.carpet import YEAR_ON_YEAR_MIN_DAYS, carpet_figure, year_on_year_figure
from core.charts.series import anomaly_figure
from core.charts.tables import date_window, events_table, summary_counts
from core.detect.pipeline import DetectorSettings
from core.detect.thresholds import ThresholdSettings
from core.errors import DataError
from core.ingest.refs import DatasetRef
from core.store.memory import BoundedLRU
from core.ui import auth
from core.ui.database import store

_log = logging.getLogger(__name__)

MAX_VIEWS = 64  # events tables, CSVs and counters (small: the events only)
MAX_FIGURES = 32  # charts (well under 1 MB each); the collection after every run walks them all
ALERTED = "alerted"  # the events table's column of what the alerts did ("—": never alerted)
NOT_ALERTED = "—"


@dataclass(frozen=True, eq=False)
class StudioView:
    """The readings, flags and events of one setting between two dates (``date_window``), and the
    ``key`` the derived table, CSV, counters and chart are kept under: dataset, settings, dates and a
    digest of these flags and events, so nothing derived from other events is ever served for them."""

    key: tuple
    frame: pd.DataFrame
    flags: pd.Series
    events: pd.DataFrame


@dataclass(frozen=True)
class EventsSummary:
    """What the studio shows of a view besides the chart (``core.charts``), built once per view."""

    table: pd.DataFrame  # tables.events_table
    csv: bytes  # report.events_csv
    counts: dict  # tables.summary_counts


@st.cache_resource(show_spinner=False)
def _summaries() -> BoundedLRU:
    return BoundedLRU(MAX_VIEWS)


@st.cache_resource(show_spinner=False)
def _figures() -> BoundedLRU:
    return BoundedLRU(MAX_FIGURES)


def _digest(flags: pd.Series, events: pd.DataFrame) -> str:
    """sha256 of the flags (one bit each, and where they start and end) and of the events."""
    h = hashlib.sha256(np.packbits(flags.fillna(False).to_numpy(dtype=bool)).tobytes())
    h.update(repr((len(flags), flags.index[:1].tolist(), flags.index[-1:].tolist())).encode())
    h.update(pd.util.hash_pandas_object(events, index=True).to_numpy().tobytes())
    h.update(repr(list(events.columns)).encode())
    return h.hexdigest()


def studio_view(
    ref: DatasetRef,
    settings: DetectorSettings,
    threshold: ThresholdSettings,
    start: date,
    end: date,
    scored: pd.DataFrame,
    flags: pd.Series,
    events: pd.DataFrame,
) -> StudioView:
    """``core.charts.tables.date_window`` of ``scored(ref, settings)`` and ``flagged(ref, settings,
    threshold)`` (passed in, as the page has them) from ``start`` to ``end``, with its cache key."""
    frame, view_flags, view_events = date_window(scored, flags, events, start, end)
    key = (ref, settings, threshold, start, end, _digest(view_flags, view_events))
    return StudioView(key, frame, view_flags, view_events)


def events_summary(view: StudioView, freq: pd.Timedelta) -> EventsSummary:
    """The events table, the events CSV and the counters of ``view``; built once per view and kept
    in memory (bounded, shared by every session), so a setting anyone has seen is not rebuilt."""

    def make() -> EventsSummary:
        return EventsSummary(
            table=events_table(view.events),
            csv=report.events_csv(view.events),
            counts=summary_counts(view.frame, view.flags, view.events, freq),
        )

    return _summaries().get_or_make((view.key, freq), make)


def anomaly_chart(
    view: StudioView,
    *,
    unit: str,
    show_anomalies: bool = True,
    show_band: bool = True,
    x_range: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    template: str | None = None,
) -> go.Figure:
    """``core.charts.series.anomaly_figure`` of ``view``, built once per view and options and kept in
    memory (bounded, shared by every session): a setting anyone has seen costs only sending it.

    Never mutate the returned figure: ``st.plotly_chart`` serialises a copy, the PNG export reads it.
    """

    def make() -> go.Figure:
        return anomaly_figure(
            view.frame,
            view.flags,
            view.events,
            unit=unit,
            show_anomalies=show_anomalies,
            show_band=show_band,
            x_range=x_range,
            template=template,
        )

    key = (view.key, unit, show_anomalies, show_band, x_range, template)
    return _figures().get_or_make(key, make)


def carpet_chart(view: StudioView, *, unit: str, template: str | None = None) -> go.Figure:
    """``core.charts.carpet.carpet_figure`` of ``view`` (day x hour, anomalies outlined), built
    once per view and kept like ``anomaly_chart``. Never mutate the returned figure."""

    def make() -> go.Figure:
        return carpet_figure(view.frame, view.flags, unit=unit, template=template)

    return _figures().get_or_make((view.key, "carpet", unit, template), make)


def year_on_year_chart(
    view: StudioView, *, unit: str, template: str | None = None
) -> go.Figure | None:
    """``core.charts.carpet.year_on_year_figure`` of ``view`` when it spans more than
    ``YEAR_ON_YEAR_MIN_DAYS`` (else None), kept like ``anomaly_chart``. Never mutate it."""
    index = view.frame.index
    if len(index) < 2 or (index[-1] - index[0]).days < YEAR_ON_YEAR_MIN_DAYS:
        return None

    def make() -> go.Figure:
        return year_on_year_figure(view.frame, view.flags, unit=unit, template=template)

    return _figures().get_or_make((view.key, "year_on_year", unit, template), make)


def with_alerted(ref: DatasetRef, table: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """``table`` (``events_table(events)``: its index is each row's position in ``events``) with
    the column ``ALERTED`` for a saved meter: what the alerts did about each event, in one line
    (``sent to ops-mail``, ``suppressed: silence #3 ...``, ``failed: ...``; ``—`` where nothing
    alerted), from ``core.alerts.status`` for the signed-in owner. Other data, or a store that
    cannot say, get ``table`` itself (never mutated: it is shared across sessions)."""
    if ref.source != "meter" or events.empty:
        return table
    try:
        alerts = event_alerts(store(), ref.name, owner=auth.current_owner())
    except DataError as err:  # signed out, or the database cannot say: the table without it
        _log.info("alerts of meter %s: %s", ref.name, err)
        return table
    lines = with_alerts(events.reset_index(drop=True), alerts)["alert"]
    shown = lines.where(lines.astype(bool), NOT_ALERTED)
    return table.assign(**{ALERTED: shown.loc[table.index].to_numpy()})


@st.cache_data(ttl=300, show_spinner=False)
def png_export_available() -> bool:
    """Whether chart PNGs can be made here (``core.charts.report.browser_path``: a Chrome or
    Chromium on the server). Looked up at most every 5 minutes: the lookup walks ``PATH``."""
    return report.browser_path() is not None
