"""A meter's current model: loaded from the registry's folder, fitted when missing, retrained by policy.

The worker keeps one model lineage per meter in the registry (``core.store.runs.register_model``)
under ``lineage_key``: every fit is the next version of that key. The meter's job state names the
current version (``meter_jobs.model_id``) and the span it was trained on; loading it reads those
readings back, keys them like every other model (``core.detect.meters.readings_digest``) and calls
``fit_detector``, which loads the saved folder (or refits it, identically, when the model cache lost
it). If the readings of that span were replaced meanwhile, the refit is registered as a new version.

**A meter's current model version comes first** (``version_model``): when the meter has one for the
worker's detector (``core.labels.current.current_detector``: made by a retrain from labels, moved by
a roll back; only the learned detector has versions), the worker scores with it and the run names
its registry id, so the worker, the page and the API use the same model. The worker scores with
causal models only (``JobPolicy.settings``: a reading's score from earlier readings alone, so new
readings are scored once and an open event keeps its start). The learned detector is *not* causal
by default (its daily median, its smoothing and its ensemble use centred windows; only the lags are
trailing), so:

- versions the worker's scheduled retrain records (``core.jobs.upkeep.retrain``) are trained with
  the worker's causal settings and are used as they are;
- a current version trained with centred windows (the page's or the CLI's Retrain) is scored
  through its *causal twin*: the same detector and parameters with ``causal=True``, fitted on the
  version's training span with the meter's labels (``fit_detector``: cached in the model cache like
  every model, and in memory); the run still names the version's id, the model it stands for.
  Centred windows would look at readings after the one scored: never used as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from core.detect import pipeline
from core.detect.detectors.base import Detector
from core.detect.meters import meter_series, registered_model
from core.detect.pipeline import DetectorSettings, fit_detector
from core.errors import DataError
from core.labels.current import current_detector
from core.labels.feedback import feedback_series
from core.store.db import Store
from core.store.jobs import MeterJob
from core.store.labels import SqlLabelRepository
from core.store.memory import BoundedLRU
from core.store.meters import SqlMeterRepository
from core.store.readings import from_us, to_us
from core.store.schema import models

ONE_US = pd.Timedelta(microseconds=1)


@dataclass(frozen=True)
class CurrentModel:
    """A fitted detector and where it sits in the registry."""

    detector: Detector
    model_id: int | None
    trained_from: int
    trained_to: int
    version: bool = False  # the meter's current model version (core.labels.current)


def lineage_key(meter_id: int, settings: DetectorSettings) -> str:
    """The registry key whose versions are one meter's models for one detector setting."""
    return f"worker/meter-{meter_id}/{settings.detector}-{settings.key()}"


def fit_model(
    store: Store,
    job: MeterJob,
    settings: DetectorSettings,
    start_us: int,
    end_us: int,
    root: Path | None = None,
) -> CurrentModel:
    """The detector fitted on the meter's readings ``start_us <= ts <= end_us`` (loaded from the
    model cache ``root`` when the same readings were fitted before; default
    ``pipeline.MODELS_DIR``), registered in the meter's lineage."""
    root = pipeline.MODELS_DIR if root is None else root
    series = meter_series(
        SqlMeterRepository(store),
        job.name,
        owner=job.owner,
        start=from_us(start_us, job.timezone),
        end=from_us(end_us, job.timezone) + ONE_US,
    )
    try:
        det = fit_detector(series.frame, series.digest, settings, root=root)
    except ValueError as err:  # "needs at least N readings" and the like
        raise DataError(f"{settings.detector} cannot learn from meter {job.name!r}: {err}") from err
    key = lineage_key(job.meter_id, settings)
    model_id = registered_model(store, series, settings, key=key, root=root)
    index = series.frame.index
    return CurrentModel(det, model_id, to_us(index[0], None), to_us(index[-1], None))


def current_model(
    store: Store, job: MeterJob, settings: DetectorSettings, root: Path | None = None
) -> CurrentModel | None:
    """The model the job state names, loaded (or refitted on its span); None when it has none."""
    if job.trained_from is None or job.trained_to is None:
        return None
    return fit_model(store, job, settings, job.trained_from, job.trained_to, root)


def version_model(
    store: Store,
    job: MeterJob,
    settings: DetectorSettings,
    root: Path | None = None,
    twins: BoundedLRU | None = None,
) -> CurrentModel | None:
    """The meter's current model version for ``settings.detector``, causal (see the module
    docstring); None when it has none (the worker then fits its own lineage as before). A
    version that cannot be loaded is core.labels.current's DataError (retrain or roll back)."""
    found = current_detector(store, job.name, job.owner, detector=settings.detector)
    if found is None:
        return None
    det, model_id = found
    params, start_us, end_us = _registered(store, model_id)
    if settings.kwargs().get("causal") and not getattr(det, "causal", True):
        twin = DetectorSettings.of(settings.detector, **{**params, "causal": True})

        def fit() -> Detector:
            return causal_twin(store, job, twin, start_us, end_us, root)

        det = fit() if twins is None else twins.get_or_make((job.meter_id, model_id, twin), fit)
    return CurrentModel(det, model_id, start_us, end_us, version=True)


def causal_twin(
    store: Store,
    job: MeterJob,
    twin: DetectorSettings,
    start_us: int,
    end_us: int,
    root: Path | None = None,
) -> Detector:
    """``twin`` (a version's settings with ``causal=True``) fitted on the meter's readings
    ``start_us <= ts <= end_us`` and its labels, saved in the model cache ``root``."""
    root = pipeline.MODELS_DIR if root is None else root
    series = meter_series(
        SqlMeterRepository(store),
        job.name,
        owner=job.owner,
        start=from_us(start_us, job.timezone),
        end=from_us(end_us, job.timezone) + ONE_US,
    )
    labels = SqlLabelRepository(store).list(job.name, owner=job.owner)
    y = feedback_series(series.frame.index, labels)
    try:
        return fit_detector(series.frame, series.digest, twin, labels=y, root=root)
    except ValueError as err:
        raise DataError(f"{twin.detector} cannot learn from meter {job.name!r}: {err}") from err


def _registered(store: Store, model_id: int) -> tuple[dict, int, int]:
    """A registered model's parameters and training span (microseconds, as the job state)."""
    with store.reading() as conn:
        row = conn.execute(
            select(models.c.settings, models.c.trained_from, models.c.trained_to).where(
                models.c.id == model_id
            )
        ).one()
    params = dict((row.settings or {}).get("params") or {})
    return params, int(row.trained_from), int(row.trained_to)
