"""The app's caches: the only core module that imports streamlit.

Everything is keyed on content: a ``DatasetRef`` (sample key, or sha256 of the uploaded bytes, plus the
frozen schema and cleaning options, or a saved meter's name and revision) and frozen settings
dataclasses. No function here reads a widget or
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
from core.ui import meters
from core.ui.text import md_escape

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
    if ref.source == "meter":  # keyed on the meter's revision: a changed meter is a new entry
        return meters.meter_dataset(ref)
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
# A saved meter whose labels trained a current model version (``core.labels.current``) is detected
# with that version when the settings ask for its detector (``learned``): the version's registry
# id is part of the keys below, so a retrain or a roll back (here, from the CLI or by the worker)
# is seen on the next run without clearing anything.
def _version(ref: DatasetRef, settings: DetectorSettings):
    """The meter's current ``CurrentEntry`` for ``settings.detector``, else None (also for data
    that is not a saved meter, and when the database cannot say: then it fits as before)."""
    if ref.source != "meter":
        return None
    from core.labels.current import current_entry
    from core.ui.database import store

    try:
        return current_entry(store(), ref.name, ref.owner, detector=settings.detector)
    except DataError as err:
        _log.info("current model of meter %s: %s", ref.name, err)
        return None


def _version_id(ref: DatasetRef, settings: DetectorSettings) -> int | None:
    entry = _version(ref, settings)
    return None if entry is None else entry.model_id


def model_ready(ref: DatasetRef, settings: DetectorSettings) -> bool:
    """True when the fitted detector for (dataset, settings) is already in memory."""
    return (ref, settings, _version_id(ref, settings)) in _models()


def fitted_detector(
    ref: DatasetRef, settings: DetectorSettings, *, progress: Progress | None = None
):
    """The fitted detector: from memory, else the saved meter's current model version for these
    settings (see above), else ``pipeline.fit_detector`` (disk cache, then fit).

    ``progress(fraction, message)`` is called while fitting; the page owns the element it updates.
    """
    from core.detect.pipeline import fit_detector

    version = _version(ref, settings)

    def make():
        if version is not None:  # a DataError (folder gone) says to retrain or roll back
            from core.labels.current import load_version

            det = load_version(version, ref.name)
            if progress is not None:
                progress(1.0, f"Loaded model version {version.version} of this meter")
            return det
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

    key = (ref, settings, None if version is None else version.model_id)
    return _models().get_or_make(key, make)


def scored(ref: DatasetRef, settings: DetectorSettings) -> pd.DataFrame:
    """The scored frame (``pipeline.score_frame``) for the dataset under the detector settings."""
    return _scored(ref, settings, _version_id(ref, settings))


@st.cache_data(max_entries=16, show_spinner=False)
def _scored(ref: DatasetRef, settings: DetectorSettings, version: int | None) -> pd.DataFrame:
    from core.detect.scoring import score_frame

    out = score_frame(fitted_detector(ref, settings), dataset(ref).frame)
    _scored_keys().put((ref, settings, version), True)
    return out


@st.cache_resource(show_spinner=False)
def _scored_keys() -> BoundedLRU:
    return BoundedLRU(16)  # as many as ``scored`` keeps


def scored_ready(ref: DatasetRef, settings: DetectorSettings) -> bool:
    """True when ``scored(ref, settings)`` has been computed in this process (so a page can skip its
    progress box; a False after the data cache dropped the entry only shows the box once more)."""
    key = (ref, settings, _version_id(ref, settings))
    return model_ready(ref, settings) and key in _scored_keys()


def prepared_scores(
    ref: DatasetRef, settings: DetectorSettings, *, progress: Progress | None = None
) -> pd.DataFrame:
    """Fit (or load) the detector, then score: ``progress`` tells each step as it happens (fitting
    up to 80 %, then scoring the readings), so a status box never says "ready" before the scores
    are."""
    n = len(dataset(ref).frame)
    fit_progress = None if progress is None else (lambda f, msg: progress(0.8 * f, msg))
    fitted_detector(ref, settings, progress=fit_progress)
    if progress is not None:
        progress(0.8, f"Scoring {n:,} readings")
    out = scored(ref, settings)
    if progress is not None:
        progress(1.0, f"Scored {n:,} readings")
    return out


def flagged(
    ref: DatasetRef, settings: DetectorSettings, threshold: ThresholdSettings
) -> tuple[pd.Series, pd.DataFrame, str]:
    """Flags, events and the events' energy unit for (dataset, detector, threshold settings).

    Cheap steps, never a refit; cached anyway because ``find_events`` grows with the number of
    events (seconds for thousands on a long series), so going back to a threshold is instant.
    On a saved meter each distinct (revision, detector, threshold) is recorded once per server
    process as a detection run with its events (``meters.record_run``); a database fault there
    is one warning line and the events are shown all the same.
    """
    found = _flagged(ref, settings, threshold, _version_id(ref, settings))
    if ref.source == "meter":
        try:
            meters.record_run(
                ref,
                settings,
                threshold,
                *found,
                model_of=lambda: (
                    _version_id(ref, settings) or meters.registered_fit(ref, settings, dataset(ref))
                ),
            )
        except DataError as err:  # not marked as recorded: the next rerun tries again
            _log.info("run on meter %s not recorded: %s", ref.name, err)
            st.warning(md_escape(f"This detection run was not recorded: {err}"))
    return found


@st.cache_data(max_entries=32, show_spinner=False)
def _flagged(
    ref: DatasetRef,
    settings: DetectorSettings,
    threshold: ThresholdSettings,
    version: int | None = None,  # the meter's current model version: keys the cache only
) -> tuple[pd.Series, pd.DataFrame, str]:
    from core.detect.run import detect_events

    ds = dataset(ref)
    found = detect_events(scored(ref, settings), threshold, freq=ds.freq, unit=ds.unit)
    return found.flags, found.events, found.energy_unit


flagged.clear = _flagged.clear  # type: ignore[attr-defined]  # tests empty this stage


def last_run(ref: DatasetRef) -> str:
    """One markdown line about the newest run recorded on a saved meter ("" otherwise)."""
    return meters.last_run(ref)


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


def backtest_ready(
    ref: DatasetRef, weeks: int, country: str | None, models: tuple[str, ...]
) -> bool:
    return (ref, weeks, country, models) in _backtests()


def backtest(
    ref: DatasetRef,
    weeks: int,
    country: str | None,
    models: tuple[str, ...],
    *,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """``core.forecast.forecasting.backtest`` (MAE, MAPE, RMSE per model in ``models``); in memory."""
    from core.forecast import forecasting

    def make():
        return forecasting.backtest(
            dataset(ref).frame, weeks=weeks, models=models, country=country, progress=progress
        )

    return _backtests().get_or_make((ref, weeks, country, models), make)


# ---- explainability and live simulation (issue 5) -------------------------------------------------
# Appended by the explain/live engineer; everything above belongs to the app shell.
def explanation(ref: DatasetRef, settings: DetectorSettings, method: str, timestamp: str):
    """``core.explain.explainers.explain_point`` for one reading (ISO ``timestamp``), kept per session LRU.

    The detector comes from ``fitted_detector(ref, settings)``: the page makes sure it is ready
    (with its own progress box) before asking.
    """
    return _explanation(ref, settings, method, timestamp, _version_id(ref, settings))


@st.cache_data(max_entries=64, show_spinner=False)
def _explanation(
    ref: DatasetRef,
    settings: DetectorSettings,
    method: str,
    timestamp: str,
    version: int | None = None,  # the meter's current model version: keys the cache only
):
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
