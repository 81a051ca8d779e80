"""The app's caches: the only core module that imports streamlit.

Everything is keyed on content: a ``DatasetRef`` (sample key, or sha256 of the uploaded bytes, plus the
frozen schema and cleaning options) and frozen settings dataclasses. No function here reads a widget or
session state; pages pass in what they read.

Why fitted models live in a store held by ``st.cache_resource`` instead of being the cached function's
return value: fitting reports progress (LSTM epochs) through a callback that updates a ``st.status`` made
by the page. Elements touched inside a cached function are recorded and replayed on later hits, which
would redraw a stale progress bar; keeping the fit outside the decorated function avoids that, and lets
the page ask "is this model ready?" before it decides to show a status box at all.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from core.detect.pipeline import DetectorSettings
from core.detect.thresholds import ThresholdSettings
from core.forecast.settings import ForecastSettings
from core.ingest.data import CleanOptions, DataError, Dataset, Schema
from core.ingest.refs import (
    DatasetRef,
    default_ref,
    sample_base_options,
    sample_bytes,
    sample_options,
)
from core.store.memory import BoundedLRU

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "DatasetRef",
    "ForecastSettings",
    "default_ref",
    "sample_base_options",
    "sample_bytes",
    "sample_options",
]

Progress = Callable[[float, str], None]
_log = logging.getLogger(__name__)

MAX_UPLOADS = 8  # uploaded files kept in memory, shared by all sessions
MAX_MODELS = 12  # fitted detectors kept in memory
MAX_FORECASTS = 12
MAX_VIEWS = 64  # events tables, CSVs and counters of the detection studio (small: events only)
MAX_FIGURES = 64  # anomaly charts kept in memory, shared by all sessions (well under 1 MB each)


@st.cache_resource(show_spinner=False)
def _uploads() -> BoundedLRU:
    return BoundedLRU(MAX_UPLOADS)


@st.cache_resource(show_spinner=False)
def _models() -> BoundedLRU:
    return BoundedLRU(MAX_MODELS)


@st.cache_resource(show_spinner=False)
def _forecasts() -> BoundedLRU:
    return BoundedLRU(MAX_FORECASTS)


# ---- datasets -------------------------------------------------------------------------------------
def remember_upload(data: bytes, filename: str) -> str:
    """Hold the uploaded bytes by their sha256 (bounded, shared); returns the digest."""
    digest = hashlib.sha256(data).hexdigest()
    _uploads().put(digest, (filename, data))
    return digest


def upload_held(digest: str) -> bool:
    return digest in _uploads()


def upload_bytes(digest: str) -> bytes:
    found = _uploads().get(digest)
    if found is None:
        raise DataError(
            "the uploaded file is no longer held in memory (the app keeps the last "
            f"{MAX_UPLOADS} uploads): upload it again"
        )
    return found[1]


@st.cache_data(max_entries=8, show_spinner="Reading the dataset…")
def dataset(ref: DatasetRef) -> Dataset:
    """The parsed, cleaned dataset for ``ref``; raises ``DataError`` with a one-line reason."""
    if ref.source == "sample" and ref.schema == Schema() and ref.options == CleanOptions():
        from core.ingest.samples import load_sample

        return load_sample(ref.name)
    if ref.source == "sample":
        from core.ingest.data import parse_upload
        from core.ingest.samples import SAMPLES

        data, filename = sample_bytes(ref.name)  # a file on disk: never held in the upload store
        return parse_upload(data, filename, ref.schema, ref.options, name=SAMPLES[ref.name].title)
    data = upload_bytes(ref.digest)
    return parsed_upload(data, ref.name, ref.schema, ref.options)


def parsed_upload(
    data: bytes,
    filename: str,
    schema: Schema = Schema(),
    options: CleanOptions = CleanOptions(),
    name: str | None = None,
) -> Dataset:
    """``core.ingest.guarded.parse_upload_guarded`` cached on sha256(bytes) + schema + options (not on the bytes object)."""
    digest = hashlib.sha256(data).hexdigest()
    if _uploads().get(digest) is None:
        _uploads().put(digest, (filename, data))
    return _parsed(digest, filename, schema, options, name)


@st.cache_data(max_entries=16, show_spinner=False)
def _parsed(
    digest: str, filename: str, schema: Schema, options: CleanOptions, name: str | None
) -> Dataset:
    from core.ingest.guarded import parse_upload_guarded  # a worker process: fails alone

    data = upload_bytes(digest)
    return parse_upload_guarded(data, filename, schema, options, name=name)


@st.cache_data(max_entries=16, show_spinner=False)
def schema_guess(digest: str, filename: str):
    """``core.ingest.data.guess_schema`` for held upload bytes, in a worker process."""
    from core.ingest.guarded import guess_schema_guarded

    return guess_schema_guarded(upload_bytes(digest), filename)


@st.cache_data(max_entries=8, show_spinner=False)
def sample_schema_guess(key: str):
    """``core.ingest.data.guess_schema`` for a bundled sample file."""
    from core.ingest.data import guess_schema

    data, filename = sample_bytes(key)
    return guess_schema(data, filename)


# ---- detectors ------------------------------------------------------------------------------------
def model_ready(ref: DatasetRef, settings: DetectorSettings) -> bool:
    """True when the fitted detector for (dataset, settings) is already in memory."""
    return (ref, settings) in _models()


def fitted_detector(
    ref: DatasetRef, settings: DetectorSettings, *, progress: Progress | None = None
):
    """The fitted detector: from memory, else ``pipeline.fit_detector`` (disk cache, then fit).

    ``progress(fraction, message)`` is called while fitting; the page owns the element it updates.
    """
    from core.detect.pipeline import fit_detector

    def make():
        ds = dataset(ref)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            det = fit_detector(ds.frame, ds.digest, settings, progress=progress)
        for w in caught:  # the details (server paths) go to the log, the user gets one line
            if issubclass(w.category, RuntimeWarning):
                _log.warning("model store: %s", w.message)
        if any(str(w.message).startswith("refitting") for w in caught):
            st.warning(
                "A saved model for this dataset could not be loaded safely, so it was set aside "
                "and the model was fitted again."
            )
        return det

    return _models().get_or_make((ref, settings), make)


@st.cache_data(max_entries=16, show_spinner=False)
def scored(ref: DatasetRef, settings: DetectorSettings) -> pd.DataFrame:
    """The scored frame (``pipeline.score_frame``) for the dataset under the detector settings."""
    from core.detect.scoring import score_frame

    return score_frame(fitted_detector(ref, settings), dataset(ref).frame)


@st.cache_data(max_entries=32, show_spinner=False)
def flagged(
    ref: DatasetRef, settings: DetectorSettings, threshold: ThresholdSettings
) -> tuple[pd.Series, pd.DataFrame, str]:
    """Flags, events and the events' energy unit for (dataset, detector, threshold settings).

    Cheap steps, never a refit; cached anyway because ``find_events`` grows with the number of
    events (seconds for thousands on a long series), so going back to a threshold is instant.
    """
    from core.detect.run import detect_events

    ds = dataset(ref)
    found = detect_events(scored(ref, settings), threshold, freq=ds.freq, unit=ds.unit)
    return found.flags, found.events, found.energy_unit


# ---- the detection studio's view: table, CSV, counters and chart of one setting --------------------
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
    from core.charts.tables import date_window

    frame, view_flags, view_events = date_window(scored, flags, events, start, end)
    key = (ref, settings, threshold, start, end, _digest(view_flags, view_events))
    return StudioView(key, frame, view_flags, view_events)


def events_summary(view: StudioView, freq: pd.Timedelta) -> EventsSummary:
    """The events table, the events CSV and the counters of ``view``; built once per view and kept
    in memory (bounded, shared by every session), so a setting anyone has seen is not rebuilt."""
    from core.charts import report
    from core.charts.tables import events_table, summary_counts

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
    from core.charts.series import anomaly_figure

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


@st.cache_data(ttl=300, show_spinner=False)
def png_export_available() -> bool:
    """Whether chart PNGs can be made here (``core.charts.report.browser_path``: a Chrome or
    Chromium on the server). Looked up at most every 5 minutes: the lookup walks ``PATH``."""
    from core.charts.report import browser_path

    return browser_path() is not None


# ---- forecasts ------------------------------------------------------------------------------------
def forecast_ready(ref: DatasetRef, settings: ForecastSettings) -> bool:
    return (ref, settings) in _forecasts()


def forecast(ref: DatasetRef, settings: ForecastSettings, *, progress: Progress | None = None):
    """A ``core.forecast.forecasting.Forecast``: the model from memory or disk (else fitted, reporting
    ``progress``), the forecast itself kept in memory."""
    from core.forecast import forecasting

    def make():
        frame = dataset(ref).frame
        det = fitted_detector(ref, settings.detector_settings(), progress=progress)
        if settings.model == "prophet":
            return forecasting.prophet_forecast(frame, settings.horizon_steps, detector=det)
        return forecasting.lstm_forecast(det, frame, settings.horizon_steps)

    return _forecasts().get_or_make((ref, settings), make)


@st.cache_resource(show_spinner=False)
def _backtests() -> BoundedLRU:
    return BoundedLRU(MAX_FORECASTS)


def backtest_ready(ref: DatasetRef, weeks: int, country: str | None) -> bool:
    return (ref, weeks, country) in _backtests()


def backtest(
    ref: DatasetRef, weeks: int, country: str | None, *, progress: Progress | None = None
) -> pd.DataFrame:
    """``core.forecast.forecasting.backtest`` (MAE, MAPE, RMSE for Prophet, LSTM, seasonal naive); in memory."""
    from core.forecast import forecasting

    def make():
        return forecasting.backtest(
            dataset(ref).frame, weeks=weeks, country=country, progress=progress
        )

    return _backtests().get_or_make((ref, weeks, country), make)


# ---- explainability and live simulation (issue 5) -------------------------------------------------
# Appended by the explain/live engineer; everything above belongs to the app shell.
def explanation(ref: DatasetRef, settings: DetectorSettings, method: str, timestamp: str):
    """``core.explain.explainers.explain_point`` for one reading (ISO ``timestamp``), kept per session LRU.

    The detector comes from ``fitted_detector(ref, settings)``: the page makes sure it is ready
    (with its own progress box) before asking.
    """
    return _explanation(ref, settings, method, timestamp)


@st.cache_data(max_entries=64, show_spinner=False)
def _explanation(ref: DatasetRef, settings: DetectorSettings, method: str, timestamp: str):
    from core.explain.explainers import explain_point

    return explain_point(
        fitted_detector(ref, settings), dataset(ref).frame, pd.Timestamp(timestamp), method
    )


@st.cache_data(max_entries=8, show_spinner=False)
def global_explanation(
    ref: DatasetRef, settings: DetectorSettings, sample: int = 1000, seed: int = 0
):
    """``core.explain.forest.global_forest`` on the Isolation Forest of (dataset, settings)."""
    from core.explain.explainers import member
    from core.explain.forest import global_forest
    from core.explain.types import ExplainError

    forest = member(fitted_detector(ref, settings), "isolation_forest")
    if forest is None:
        raise ExplainError("the global SHAP view needs an Isolation Forest")
    return global_forest(forest, dataset(ref).frame, sample=sample, seed=seed)


def live_ready(ref: DatasetRef, settings: DetectorSettings, warmup: int) -> bool:
    return (ref, settings, "warmup", warmup) in _models()


def live_detector(
    ref: DatasetRef, settings: DetectorSettings, warmup: int, *, progress: Progress | None = None
):
    """A detector fitted on the first ``warmup`` readings only (the live page replays the rest)."""
    from core.detect.pipeline import causal_settings, make_detector

    settings = causal_settings(settings)

    def make():
        frame = dataset(ref).frame.iloc[:warmup]
        return make_detector(settings).fit(frame, progress=progress)

    return _models().get_or_make((ref, settings, "warmup", warmup), make)
