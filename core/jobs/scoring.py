"""Score one meter's new readings with the one detection run, record the run, hand its events on.

``score_meter`` is the job every scoring pass runs per meter, in this order:

1. **finish** a pass a killed worker left half-done: the job state names a recorded run whose events
   were not yet all handed to the alerts (``pending_run_id``): they are handed on now, and the state
   advances. The alerts log is idempotent by fingerprint, so an event handed on twice sends once.
2. **region**: the readings to score: after ``scored_to`` (from ``open_from`` when an event was
   still open there, so it comes back with the same start), or the last ``backfill_days`` of a
   meter scored for the first time.
3. **model**: the meter's current model version when it has one for the worker's detector
   (``core.jobs.models.version_model``: causal, the run names it), else the meter's current model
   in the worker's lineage (``core.jobs.models``), fitted on the ``train_days`` before the region
   when it has none.
4. **detect**: ``core.detect.run.run_detection`` on the ``context_days`` before the region plus the
   region, with the context as the warm-up (``warmup=``): profile, threshold and typing level from
   the context, flags only in the region, nothing looked at after a reading to flag it.
5. **record** the run and its events (``SqlRunRepository.record``), then mark it pending in the job
   state, hand the events to ``dispatch``, and advance ``scored_to`` / ``open_from``.

A worker killed between 5's record and its pending mark rescores the same readings next time (a
second run row with the same events, handed on again: sent once); killed after the mark, step 1
finishes it. Nothing is sent twice either way.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from core.detect.meters import meter_series
from core.detect.run import run_detection
from core.errors import DataError
from core.jobs.dispatch import Dispatch, MeterEvents
from core.jobs.models import ONE_US, CurrentModel, current_model, fit_model, version_model
from core.jobs.policy import JobPolicy
from core.store.db import Store
from core.store.jobs import MeterJob, SqlJobRepository
from core.store.memory import BoundedLRU
from core.store.meters import SqlMeterRepository
from core.store.readings import from_us, to_us
from core.store.runs import SqlRunRepository

__all__ = ["Scored", "ModelCache", "score_meter", "needs_scoring", "redispatch_open"]


@dataclass(frozen=True)
class Scored:
    """What one meter's pass did: readings scored, events found, run recorded, finished pending."""

    meter: str
    points: int = 0
    events: int = 0
    run_id: int | None = None
    finished_pending: bool = False
    model_id: int | None = None


class ModelCache:
    """Fitted current models by (meter, model span), kept in memory so a long-running worker loads
    each once, saved in the model cache ``root`` on disk (default ``pipeline.MODELS_DIR``). The
    meter's current model version, when it has one, comes first (asked for on every pass: one
    indexed read, so a retrain or roll back elsewhere is used on the next pass)."""

    def __init__(self, size: int = 32, root: Path | None = None) -> None:
        self._lru = BoundedLRU(size)
        self.root = root

    def get(self, store: Store, job: MeterJob, policy: JobPolicy) -> CurrentModel | None:
        version = version_model(store, job, policy.settings, self.root, self._lru)
        if version is not None:
            return version
        if job.trained_from is None:
            return None
        key = (job.meter_id, job.trained_from, job.trained_to, policy.settings)
        return self._lru.get_or_make(
            key, lambda: current_model(store, job, policy.settings, self.root)
        )


def needs_scoring(job: MeterJob) -> bool:
    """New readings since the last pass, or a pass left half-done."""
    if job.pending_run_id is not None:
        return True
    return job.newest is not None and (job.scored_to is None or job.newest > job.scored_to)


def score_meter(
    store: Store,
    job: MeterJob,
    policy: JobPolicy,
    dispatch: Dispatch,
    now: datetime,
    models: ModelCache | None = None,
) -> Scored:
    """Score the meter's new readings (see the module docstring); a DataError for a meter that
    cannot be scored yet (too little history), with what to do."""
    jobs = SqlJobRepository(store)
    finished = False
    if job.pending_run_id is not None:
        _finish_pending(store, job, dispatch, now)
        finished = True
        job = jobs.get(job.meter_id) or job
    if job.newest is None or (job.scored_to is not None and job.newest <= job.scored_to):
        return Scored(job.name, finished_pending=finished)

    tz = job.timezone
    newest = from_us(job.newest, tz)
    region_from = _region_start(job, policy, newest)
    models = models or ModelCache(1)
    model = models.get(store, job, policy)
    if model is None:
        model = _first_model(store, job, policy, region_from, models.root)
        jobs.update(
            job.meter_id,
            model_id=model.model_id,
            trained_from=model.trained_from,
            trained_to=model.trained_to,
            retrained=now,
        )
    elif model.version and model.model_id != job.model_id:  # a retrain or roll back moved it
        jobs.update(
            job.meter_id,
            model_id=model.model_id,
            trained_from=model.trained_from,
            trained_to=model.trained_to,
        )
    elif model.model_id != job.model_id:  # its span's readings were replaced: refitted, new version
        jobs.update(job.meter_id, model_id=model.model_id)

    repo = SqlMeterRepository(store)
    step = pd.Timedelta(seconds=job.step_seconds) if job.step_seconds else None
    lookback = model.detector.lookback(pd.date_range(region_from, periods=2, freq=step or "1h"))
    context = max(policy.days(policy.context_days), (lookback + 1) * (step or pd.Timedelta("1h")))
    series = meter_series(
        repo, job.name, owner=job.owner, start=region_from - context, end=newest + ONE_US
    )
    warmup = int((series.frame.index < region_from).sum())
    if warmup < 2:
        raise DataError(
            f"meter {job.name!r} has no readings before {region_from}: the worker scores new "
            "readings after some history; push older readings first."
        )
    try:
        detection = run_detection(
            series.frame,
            policy.settings,
            policy.threshold,
            freq=series.step,
            unit=series.unit,
            detector=model.detector,
            warmup=warmup,
        )
    except ValueError as err:
        raise DataError(f"meter {job.name!r} could not be scored: {err}") from err
    events = detection.events
    last = series.frame.index[-1]
    open_events = events[events["end"] >= last] if len(events) else events
    open_from = to_us(open_events["start"].min(), tz) if len(open_events) else None
    points = len(series.frame) - warmup

    run = SqlRunRepository(store).record(
        job.name,
        detector=policy.settings.detector,
        threshold=dataclasses.asdict(policy.threshold),
        events=events,
        points=points,
        flagged=detection.n_flagged,
        energy_unit=detection.energy_unit,
        model_id=model.model_id,
        data_from=series.frame.index[warmup],
        data_to=last,
        owner=job.owner,
    )
    jobs.update(
        job.meter_id, pending_run_id=run.id, pending_to=job.newest, pending_open_from=open_from
    )
    handed = events.copy()
    handed["open"] = handed["end"] >= last
    handed.attrs["energy_unit"] = detection.energy_unit
    dispatch(MeterEvents(store, job, run.id, handed, newest, now, detection.energy_unit))
    _advance(jobs, job.meter_id, job.newest, open_from, now)
    return Scored(job.name, points, len(events), run.id, finished, model.model_id)


def redispatch_open(store: Store, job: MeterJob, dispatch: Dispatch, now: datetime) -> bool:
    """Hand a meter's last run on again when it ended on an open event and nothing new arrived:
    the alerts then retry what failed and repeat what is due (idempotent by fingerprint)."""
    if job.open_from is None or job.scored_to is None or job.pending_run_id is not None:
        return False
    runs = SqlRunRepository(store)
    run = runs.last(job.name, owner=job.owner)
    if run is None:
        return False
    events = runs.events(run, ids=True)
    newest = from_us(job.scored_to, job.timezone)
    events["open"] = events["end"] >= newest
    events.attrs["energy_unit"] = run.energy_unit
    dispatch(MeterEvents(store, job, run.id, events, newest, now, run.energy_unit))
    return True


def _region_start(job: MeterJob, policy: JobPolicy, newest: pd.Timestamp) -> pd.Timestamp:
    tz = job.timezone
    if job.scored_to is None:
        return newest - policy.days(policy.backfill_days) + ONE_US
    if job.open_from is not None:
        return from_us(job.open_from, tz)
    return from_us(job.scored_to, tz) + ONE_US


def _first_model(
    store: Store, job: MeterJob, policy: JobPolicy, region_from: pd.Timestamp, root: Path | None
) -> CurrentModel:
    """Fit the meter's first model on the ``train_days`` before the region (never on what it is
    about to score); a DataError when there are fewer than ``min_train_days`` of them."""
    tz = job.timezone
    end_us = to_us(region_from - ONE_US, tz)
    start_us = to_us(region_from - policy.days(policy.train_days), tz)
    frame = SqlMeterRepository(store).load(
        job.name, owner=job.owner, start=from_us(start_us, tz), end=region_from
    )
    have = (frame.index[-1] - frame.index[0]) if len(frame) > 1 else pd.Timedelta(0)
    if have < policy.days(policy.min_train_days) - pd.Timedelta(days=1):
        raise DataError(
            f"meter {job.name!r} has {have.days} days of readings before the ones to score; the "
            f"worker fits a model on at least {policy.min_train_days:g}: push more history."
        )
    return fit_model(store, job, policy.settings, to_us(frame.index[0], tz), end_us, root)


def _finish_pending(store: Store, job: MeterJob, dispatch: Dispatch, now: datetime) -> None:
    runs = SqlRunRepository(store)
    run = runs.run(job.name, job.pending_run_id, owner=job.owner)
    events = runs.events(run, ids=True)
    newest = from_us(job.pending_to, job.timezone)
    events["open"] = events["end"] >= newest
    events.attrs["energy_unit"] = run.energy_unit
    dispatch(MeterEvents(store, job, run.id, events, newest, now, run.energy_unit))
    _advance(SqlJobRepository(store), job.meter_id, job.pending_to, job.pending_open_from, now)


def _advance(
    jobs: SqlJobRepository, meter_id: int, to: int | None, open_from: int | None, now: datetime
) -> None:
    jobs.update(
        meter_id,
        scored_to=to,
        open_from=open_from,
        pending_run_id=None,
        pending_to=None,
        pending_open_from=None,
        scored=now,
        error=None,
    )
