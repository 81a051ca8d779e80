"""The slow jobs per meter: the daily forecast refresh and retraining by policy.

``refresh_forecast`` forecasts the ``forecast_hours`` after the newest reading with the seasonal
naive forecaster (``core.forecast.forecasting``: same time last week, band from its errors) on the
last four weeks, and keeps it in the job state as JSON: ``model``, ``start`` (ISO), ``step_s``,
``unit``, ``expected`` / ``lower`` / ``upper`` (lists, one per step), ``total`` (expected energy
over the horizon, for energy units) and ``notes``.

``retrain`` refits a meter's model on the ``train_days`` up to the newest reading scored, when the
current model is older than ``retrain_after`` and at least ``retrain_min_new_days`` of readings
arrived after its training span; the fit is the next version of the meter's lineage in the model
registry, and the scoring pass uses it from then on. When the worker's detector learns from labels
(``supervised``: the learned detector) and the meter's labels are enough for it
(``label_shortfall``), the retrain is ``core.labels.retrain.retrain_meter`` with the worker's causal
settings instead: a new model version of the meter, measured on its labels (``metrics``), current at
once, kept and rolled back like one made on the page, and scored with as it is
(``core.jobs.models.version_model``). Too few labels (or an unsupervised detector): as before.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.detect import pipeline
from core.detect.detectors import REGISTRY
from core.detect.detectors.learned import label_shortfall
from core.detect.meters import meter_series
from core.errors import DataError
from core.forecast.forecasting import seasonal_naive_forecast
from core.ingest.columns import ENERGY_UNITS
from core.jobs.models import ONE_US, CurrentModel, fit_model, version_model
from core.jobs.policy import JobPolicy
from core.labels.feedback import feedback_series
from core.labels.retrain import retrain_meter
from core.store.db import Store
from core.store.jobs import MeterJob, SqlJobRepository
from core.store.labels import SqlLabelRepository
from core.store.meters import SqlMeterRepository
from core.store.readings import from_us, to_us

FORECAST_HISTORY = pd.Timedelta(days=28)  # four weeks: the weekly season four times over


def forecast_due(job: MeterJob, policy: JobPolicy, now: datetime) -> bool:
    return job.newest is not None and (
        job.forecast_at is None or now - job.forecast_at >= policy.forecast_every
    )


def refresh_forecast(
    store: Store, job: MeterJob, policy: JobPolicy, now: datetime
) -> dict[str, Any]:
    """Forecast the meter's next hours and keep it in its job state; returns what was kept."""
    newest = from_us(job.newest, job.timezone)
    series = meter_series(
        SqlMeterRepository(store),
        job.name,
        owner=job.owner,
        start=newest - FORECAST_HISTORY,
        end=newest + ONE_US,
    )
    horizon = max(1, int(pd.Timedelta(hours=policy.forecast_hours) / series.step))
    try:
        fc = seasonal_naive_forecast(series.frame, horizon)
    except ValueError as err:
        raise DataError(f"meter {job.name!r} could not be forecast: {err}") from err
    future = fc.future
    kept = {
        "model": fc.model,
        "start": future.index[0].isoformat(),
        "step_s": int(series.step.total_seconds()),
        "unit": series.unit,
        "expected": _numbers(future["expected"]),
        "lower": _numbers(future["lower"]),
        "upper": _numbers(future["upper"]),
        "total": float(np.nansum(future["expected"])) if series.unit in ENERGY_UNITS else None,
        "notes": list(fc.notes),
    }
    SqlJobRepository(store).update(job.meter_id, forecast=kept, forecast_at=now)
    return kept


def retrain_due(job: MeterJob, policy: JobPolicy, now: datetime) -> bool:
    """The model is older than the policy allows and enough new readings arrived after it."""
    if job.trained_to is None or job.scored_to is None or job.pending_run_id is not None:
        return False
    if job.retrained is not None and now - job.retrained < policy.retrain_after:
        return False
    new = pd.Timedelta(microseconds=job.scored_to - job.trained_to)
    return new >= policy.days(policy.retrain_min_new_days)


def retrain(
    store: Store, job: MeterJob, policy: JobPolicy, now: datetime, root: Path | None = None
) -> CurrentModel:
    """Fit the next version of the meter's model (saved in the model cache ``root``) and make it
    the current one: from its labels when they are enough (see the module docstring)."""
    if labels_enough(store, job, policy):
        retrain_meter(
            store,
            job.name,
            owner=job.owner,
            settings=policy.settings,
            threshold=policy.threshold,
            root=pipeline.MODELS_DIR if root is None else root,
            note="scheduled retrain (worker)",
        )
        model = version_model(store, job, policy.settings, root)
        if model is None:  # cannot happen: retrain_meter just made it current
            raise DataError(f"meter {job.name!r}: the new model version is not current")
    else:
        tz = job.timezone
        end = from_us(job.scored_to, tz)
        start = to_us(end - policy.days(policy.train_days), tz)
        model = fit_model(store, job, policy.settings, start, job.scored_to, root)
    SqlJobRepository(store).update(
        job.meter_id,
        model_id=model.model_id,
        trained_from=model.trained_from,
        trained_to=model.trained_to,
        retrained=now,
    )
    return model


def labels_enough(store: Store, job: MeterJob, policy: JobPolicy) -> bool:
    """The worker's detector learns from labels and the meter's labels are enough for it."""
    settings = policy.settings
    if not getattr(REGISTRY.get(settings.detector), "supervised", False):
        return False
    labels = SqlLabelRepository(store).list(job.name, owner=job.owner)
    if labels.empty:
        return False
    series = meter_series(SqlMeterRepository(store), job.name, owner=job.owner)
    y = feedback_series(series.frame.index, labels)
    params = settings.kwargs()
    return not label_shortfall(y, params.get("min_confirmed", 3), params.get("min_dismissed", 2))


def _numbers(values: pd.Series) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), 6) for v in values.to_numpy(float)]
