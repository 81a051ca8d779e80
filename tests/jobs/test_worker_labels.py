"""The worker and a person's labels (issues 13 + 14): the scheduled retrain of a labelled meter
records a model version (measured on its labels) that the next passes score with, and a version
made on the page (centred windows) is scored through its causal twin, never as it is."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from core.detect.pipeline import DetectorSettings
from core.jobs import models as job_models
from core.jobs.dispatch import MeterEvents
from core.jobs.models import version_model
from core.jobs.policy import JobPolicy
from core.jobs.upkeep import labels_enough
from core.jobs.worker import Worker
from core.labels.current import current_detector
from core.labels.retrain import retrain_meter
from core.store.db import Store
from core.store.jobs import SqlJobRepository, utcnow
from core.store.labels import SqlLabelRepository
from core.store.model_versions import SqlModelVersionRepository
from core.store.runs import SqlRunRepository
from tests.jobs.conftest import WEEKS, Home, lead_building

LEARNED = JobPolicy(detector="learned")
# (start, stop) positions in the LEAD slice: its labelled anomalies, and two normal stretches
CONFIRMED = ((584, 597), (655, 667), (678, 691))
DISMISSED = ((100, 105), (300, 305))


def label(store: Store, index: pd.DatetimeIndex, confirmed=CONFIRMED, dismissed=DISMISSED) -> None:
    rows = [(index[a], index[b - 1], "real") for a, b in confirmed]
    rows += [(index[a], index[b - 1], "not_anomaly") for a, b in dismissed]
    spans = pd.DataFrame(rows, columns=["start", "end", "verdict"])
    SqlLabelRepository(store).add_many("b118", spans)


@pytest.fixture(scope="module")
def longer() -> pd.DataFrame:
    """Nine weeks and a day of the worker's LEAD building (a day after the retrain)."""
    return lead_building(7 * WEEKS + 1)


def test_scheduled_retrain_records_a_version_the_next_pass_scores_with(
    home: Home, longer: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight days on, the retrain of a meter with labels enough is a new model version (current,
    with metrics on the labels, causal); the next pass scores with it as it is, without a fit."""
    first, week, day = longer.iloc[: -8 * 24], longer.iloc[-8 * 24 : -24], longer.iloc[-24:]
    home.push("b118", first)
    store = home.store()
    handed: list[MeterEvents] = []
    in_8_days = lambda: utcnow() + timedelta(days=8)  # noqa: E731
    try:
        label(store, first.index, confirmed=CONFIRMED[:2])
        job = SqlJobRepository(store).meters()[0]
        assert not labels_enough(store, job, LEARNED)  # two confirmed: one short
        label(store, first.index, confirmed=CONFIRMED[2:], dismissed=())
        assert labels_enough(store, job, LEARNED) and not labels_enough(store, job, JobPolicy())
        Worker(store, handed.append, LEARNED, models_dir=home.models).run_once()
        assert SqlModelVersionRepository(store).current("b118") is None  # the worker's own fit
        home.push("b118", week)
        later = Worker(store, handed.append, LEARNED, clock=in_8_days, models_dir=home.models)
        assert later.run_once().retrained == ["b118"]
        version = SqlModelVersionRepository(store).current("b118")
        job = SqlJobRepository(store).meters()[0]
        det, model_id = current_detector(store, "b118", detector="learned")

        def no_fit(*args, **kwargs):
            raise AssertionError("fitted although the meter has a causal current version")

        monkeypatch.setattr(job_models, "fit_detector", no_fit)
        home.push("b118", day)
        again = Worker(store, handed.append, LEARNED, clock=in_8_days, models_dir=home.models)
        report = again.run_once()
        run = SqlRunRepository(store).last("b118")
    finally:
        store.close()
    assert version.version == 1 and version.labels_used == 5 and version.metrics
    assert "scheduled retrain" in version.note
    assert model_id == version.model_id == job.model_id and job.trained_to == job.scored_to
    assert det.causal and det.model_ is not None  # trained on the labels, trailing windows
    assert report.errors == {} and report.retrained == [] and len(report.scored) == 1
    assert run.model_id == version.model_id and run.data_to == day.index[-1]


def test_a_page_version_is_scored_through_its_causal_twin(home: Home, longer: pd.DataFrame) -> None:
    """A version retrained on the page (centred windows) is what the worker's runs name, scored
    by the same parameters with ``causal=True`` on its span and labels; an unsupervised worker
    detector has no version and fits its own model."""
    home.push("b118", longer)
    store = home.store()
    try:
        label(store, longer.index)
        page = DetectorSettings.of("learned", max_iter=20)
        version = retrain_meter(store, "b118", settings=page, root=home.models).version
        report = Worker(store, lambda _: None, LEARNED, models_dir=home.models).run_once()
        job = SqlJobRepository(store).meters()[0]
        run = SqlRunRepository(store).last("b118")
        used = version_model(store, job, LEARNED.settings, home.models)
        as_saved, _ = current_detector(store, "b118", detector="learned")
        unsupervised = version_model(store, job, JobPolicy().settings, home.models)
    finally:
        store.close()
    assert report.errors == {} and run.model_id == job.model_id == version.model_id
    assert run.data_to == longer.index[-1] and job.trained_to == job.scored_to
    assert not as_saved.causal and used.version and used.model_id == version.model_id
    det = used.detector
    assert det.causal and det.ensemble_.causal and det.max_iter == 20 and det.model_ is not None
    assert unsupervised is None
