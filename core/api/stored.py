"""Detection, forecasts and pages of readings on a stored meter: load -> grid -> the one run.

``detect_meter`` loads the meter's readings (``start <= t < end``), lays them on the meter's step
(missing steps NaN, as an upload's are), and calls :func:`core.detect.run.run_detection` with a
digest of exactly those readings and the detector fitted on them: kept in memory (a small LRU),
else loaded from the model cache on disk when the same readings and settings were fitted before,
else fitted and saved there; a model saved now is added to the model registry. The
run and its events are recorded (``SqlRunRepository.record``) and come back with their ids. Nothing
here flags, types or sums anything itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from contextlib import contextmanager

import numpy as np
import pandas as pd

from core.api import limits
from core.detect.detectors.base import Detector
from core.detect.pipeline import DetectorSettings, fit_detector, model_dir, saved_meta
from core.detect.run import Detection, run_detection
from core.detect.thresholds import ThresholdSettings
from core.errors import DataError
from core.ingest.columns import DEFAULT_UNIT, ENERGY_UNITS
from core.ingest.quality import infer_step, step_label
from core.store.db import Store
from core.store.memory import BoundedLRU
from core.store.meters import SqlMeterRepository
from core.store.readings import from_us, stored_span
from core.store.records import Meter
from core.store.runs import Run, SqlRunRepository, latest_model, register_model
from core.store.versions import library_versions

_turns = threading.BoundedSemaphore(limits.DETECTIONS)
# fitted detectors by (digest, settings): a repeated detection neither refits nor reloads from disk
_models = BoundedLRU(limits.MODELS_IN_MEMORY)


@contextmanager
def fitting_turn():
    """Wait for one of ``limits.DETECTIONS`` places to fit or score in."""
    with _turns:
        yield


@dataclasses.dataclass(frozen=True)
class Series:
    """A meter's readings on its grid, ready for a detector."""

    meter: Meter
    frame: pd.DataFrame
    step: pd.Timedelta
    unit: str
    digest: str


def meter_head(repo: SqlMeterRepository, name: str, owner: str | None) -> Meter:
    """The meter with its first and last reading's times (two index probes), without the reading
    count ``get`` adds up: what a push needs, in well under a millisecond."""
    with repo.store.reading() as conn:
        meter = repo.find_in(conn, name, owner)
        span = stored_span(conn, meter.id)
    if span is None:
        return meter
    return dataclasses.replace(
        meter, first=from_us(span[0], meter.timezone), last=from_us(span[1], meter.timezone)
    )


def fitted(frame: pd.DataFrame, digest: str, settings: DetectorSettings) -> Detector:
    """The detector fitted on ``frame``: from memory, else ``fit_detector`` (the model cache on
    disk, else a fit saved there)."""
    return _models.get_or_make((digest, settings), lambda: fit_detector(frame, digest, settings))


def gridded(
    frame: pd.DataFrame, step: pd.Timedelta | None, what: str
) -> tuple[pd.DataFrame, pd.Timedelta]:
    """``frame`` on a regular grid of ``step`` (inferred when None); missing steps are NaN."""
    if len(frame) < limits.MIN_POINTS:
        raise DataError(
            f"{what} has {len(frame)} readings; detection needs at least {limits.MIN_POINTS}: "
            "push more readings or widen start / end."
        )
    step = step or infer_step(frame.index.asi8)
    if step is None:
        raise DataError(f"{what}: every reading has the same time; push readings over time.")
    grid = pd.date_range(frame.index[0], frame.index[-1], freq=step, name="timestamp", unit="ns")
    if len(grid) > limits.MAX_GRID_FACTOR * len(frame):
        raise DataError(
            f"{what}: {len(frame)} readings spread over {len(grid):,} steps of {step_label(step)} "
            "are mostly missing: narrow start / end to where readings are."
        )
    return frame.reindex(grid), step


def readings_digest(name: str, frame: pd.DataFrame) -> str:
    """sha256 of a meter's name and readings (times, columns, values): keys its cached models."""
    h = hashlib.sha256(f"meter:{name}:{','.join(map(str, frame.columns))}".encode())
    h.update(np.ascontiguousarray(frame.index.asi8).tobytes())
    h.update(str(frame.index.tz).encode())
    for col in frame.columns:
        h.update(np.ascontiguousarray(frame[col].to_numpy(dtype=float)).tobytes())
    return h.hexdigest()


def meter_series(
    repo: SqlMeterRepository, name: str, *, owner: str | None, start=None, end=None
) -> Series:
    """The meter's readings in ``[start, end)`` on its grid."""
    meter = meter_head(repo, name, owner)
    frame = repo.load(name, owner=owner, start=start, end=end)
    frame, step = gridded(frame, meter.step, f"meter {name!r}")
    return Series(meter, frame, step, meter.unit or DEFAULT_UNIT, readings_digest(name, frame))


def detect_meter(
    store: Store,
    name: str,
    detector: str,
    threshold: ThresholdSettings,
    *,
    owner: str | None = None,
    start=None,
    end=None,
    warmup: int | None = None,
) -> tuple[Run, Detection]:
    """Run detection on a stored meter and record the run (see the module docstring)."""
    series = meter_series(SqlMeterRepository(store), name, owner=owner, start=start, end=end)
    settings = DetectorSettings(detector)
    if warmup is not None and not warmup < len(series.frame):
        raise DataError(
            f"warmup is {warmup} readings, but meter {name!r} has {len(series.frame)} steps in "
            "that span: give a smaller warmup."
        )
    with fitting_turn():
        try:
            detection = run_detection(
                series.frame,
                settings,
                threshold,
                freq=series.step,
                unit=series.unit,
                detector=fitted(series.frame, series.digest, settings),
                warmup=warmup,
            )
        except ValueError as err:  # a detector's "needs at least N readings" and the like
            raise DataError(f"{detector} cannot learn from meter {name!r}: {err}") from err
    index = series.frame.index
    run = SqlRunRepository(store).record(
        name,
        detector=detector,
        threshold=dataclasses.asdict(threshold),
        events=detection.events,
        points=len(detection.scored),
        flagged=detection.n_flagged,
        energy_unit=detection.energy_unit,
        model_id=_registered(store, name, series, settings),
        data_from=index[0],
        data_to=index[-1],
        owner=owner,
    )
    return run, detection


def _registered(store: Store, name: str, series: Series, settings: DetectorSettings) -> int | None:
    """The registry id of the model the run used (registered now if it was just fitted)."""
    folder = model_dir(series.digest, settings)
    key = f"{series.digest[:16]}/{folder.name}"
    found = latest_model(store, key)
    if found is not None or not saved_meta(series.digest, settings):
        return found
    model_id, _ = register_model(
        store,
        detector=settings.detector,
        settings={"detector": settings.detector, "params": settings.kwargs()},
        key=key,
        artefact_path=str(folder),
        library_versions=library_versions(),
        trained_from=series.frame.index[0],
        trained_to=series.frame.index[-1],
        meter=name,
    )
    return model_id


# ---- forecasts ----------------------------------------------------------------------------------
def forecast_meter(
    repo: SqlMeterRepository,
    name: str,
    horizon: int,
    model: str,
    *,
    owner: str | None = None,
    start=None,
    end=None,
):
    """A ``core.forecast.forecasting.Forecast`` of the meter ``horizon`` steps past its last reading."""
    from core.forecast import forecasting
    from core.forecast.settings import ForecastSettings

    series = meter_series(repo, name, owner=owner, start=start, end=end)
    frame = series.frame
    with fitting_turn():
        try:
            if model == "seasonal_naive":
                return series, forecasting.seasonal_naive_forecast(frame, horizon)
            settings = ForecastSettings(model=model, horizon_steps=horizon)
            det = fitted(frame, series.digest, settings.detector_settings())
            if model == "prophet":
                return series, forecasting.prophet_forecast(frame, horizon, detector=det)
            return series, forecasting.lstm_forecast(det, frame, horizon)
        except ValueError as err:
            raise DataError(f"{model} cannot forecast meter {name!r}: {err}") from err


# ---- pages of readings ----------------------------------------------------------------------------
def resample(frame: pd.DataFrame, step: pd.Timedelta, meter: Meter) -> tuple[pd.DataFrame, str]:
    """Readings on a longer ``step``: energy units summed (a step with any reading missing is
    null), power units averaged, covariates averaged; the rule ``core.ingest.cleaning`` uses."""
    if meter.step is not None and step < meter.step:
        raise DataError(
            f"meter {meter.name!r} has a {step_label(meter.step)} step: resample to "
            f"{step_label(meter.step)} or longer."
        )
    energy = (meter.unit or DEFAULT_UNIT) in ENERGY_UNITS
    bins = frame.resample(step)
    if energy:
        per_bin = max(1, int(round(step / meter.step))) if meter.step is not None else 1
        value = bins["value"].sum(min_count=per_bin)
    else:
        value = bins["value"].mean()
    out = pd.DataFrame({"value": value})
    for col in frame.columns:
        if col != "value":
            out[col] = bins[col].mean()
    out.index.name = "timestamp"
    return out, "sum" if energy else "mean"
