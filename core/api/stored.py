"""Detection, forecasts and pages of readings on a stored meter: load -> grid -> the one run.

``detect_meter`` loads the meter's readings (``start <= t < end``), lays them on the meter's step
(missing steps NaN, as an upload's are), and calls :func:`core.detect.run.run_detection` with a
digest of exactly those readings and the detector fitted on them: kept in memory (a small LRU),
else loaded from the model cache on disk when the same readings and settings were fitted before,
else fitted and saved there; a model saved now is added to the model registry. A meter whose labels
trained a current model version (``core.labels.current``) is detected with that version when the
request names its detector (``learned``), and the run names that model. The
run and its events are recorded (``SqlRunRepository.record``) and come back with their ids. Nothing
here flags, types or sums anything itself.
"""

from __future__ import annotations

import dataclasses
import threading
from contextlib import contextmanager

import pandas as pd

from core.api import limits
from core.detect import meters as stored_meters
from core.detect.detectors.base import Detector
from core.detect.meters import Series, meter_head, readings_digest, registered_model
from core.detect.pipeline import DetectorSettings, fit_detector
from core.detect.run import Detection, run_detection
from core.detect.thresholds import ThresholdSettings
from core.errors import DataError
from core.ingest.columns import DEFAULT_UNIT, ENERGY_UNITS
from core.ingest.quality import step_label
from core.labels.current import current_detector
from core.memory import freeze_imports
from core.store.db import Store
from core.store.memory import BoundedLRU
from core.store.meters import SqlMeterRepository
from core.store.records import Meter
from core.store.runs import Run, SqlRunRepository

__all__ = [
    "Series",
    "detect_meter",
    "fitted",
    "fitting_turn",
    "forecast_meter",
    "gridded",
    "meter_head",
    "meter_series",
    "readings_digest",
    "resample",
]

_turns = threading.BoundedSemaphore(limits.DETECTIONS)
# fitted detectors by (digest, settings): a repeated detection neither refits nor reloads from disk
_models = BoundedLRU(limits.MODELS_IN_MEMORY)


@contextmanager
def fitting_turn():
    """Wait for one of ``limits.DETECTIONS`` places to fit or score in. After it, the modules a
    first fit imported are frozen out of the garbage collector's full passes
    (``core.memory.freeze_imports``): unfrozen, a full pass cost ~120 ms in the middle of a call."""
    with _turns:
        yield
        freeze_imports()


def fitted(frame: pd.DataFrame, digest: str, settings: DetectorSettings) -> Detector:
    """The detector fitted on ``frame``: from memory, else ``fit_detector`` (the model cache on
    disk, else a fit saved there)."""
    return _models.get_or_make((digest, settings), lambda: fit_detector(frame, digest, settings))


def gridded(
    frame: pd.DataFrame, step: pd.Timedelta | None, what: str
) -> tuple[pd.DataFrame, pd.Timedelta]:
    """``frame`` on a regular grid of ``step`` (``core.detect.meters.gridded``, the API's limit)."""
    return stored_meters.gridded(frame, step, what, max_grid_factor=limits.MAX_GRID_FACTOR)


def meter_series(
    repo: SqlMeterRepository, name: str, *, owner: str | None, start=None, end=None
) -> Series:
    """The meter's readings in ``[start, end)`` on its grid (``core.detect.meters``)."""
    return stored_meters.meter_series(
        repo, name, owner=owner, start=start, end=end, max_grid_factor=limits.MAX_GRID_FACTOR
    )


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
        current = current_detector(store, name, owner, detector=detector)  # labels' version
        try:
            detection = run_detection(
                series.frame,
                settings,
                threshold,
                freq=series.step,
                unit=series.unit,
                detector=current[0] if current else fitted(series.frame, series.digest, settings),
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
        model_id=current[1] if current else registered_model(store, series, settings),
        data_from=index[0],
        data_to=index[-1],
        owner=owner,
    )
    return run, detection


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
