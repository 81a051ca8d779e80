"""``python -m core worker --once`` on a SQLite store, as a real process: what it scores and records."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from core.jobs.dispatch import MeterEvents
from core.jobs.policy import JobPolicy
from core.jobs.worker import Worker
from core.store.jobs import SqlJobRepository, utcnow
from core.store.readings import to_us
from core.store.runs import SqlRunRepository
from core.store.schema import models
from tests.jobs.conftest import Home


def test_once_scores_records_forecasts_then_has_nothing_to_do(
    home: Home, lead: pd.DataFrame
) -> None:
    """A first pass fits the meter's model on the weeks before its last week, scores that week,
    records the run, the model (version 1) and a day-ahead forecast; a second pass does nothing."""
    home.push("b118", lead)
    first = home.once("--no-alerts")
    assert (first["standing_by"], first["scored"], first["forecasts"]) == (False, 1, 1)
    assert first["points"] == 7 * 24 and first["errors"] == {}

    store = home.store()
    try:
        job = SqlJobRepository(store).meters()[0]
        assert job.scored_to == job.newest == to_us(lead.index[-1], None)
        assert job.trained_to == to_us(lead.index[-7 * 24 - 1], None)  # never trained on the week
        run = SqlRunRepository(store).last("b118")
        assert (run.data_from, run.data_to) == (lead.index[-7 * 24], lead.index[-1])
        assert run.model_id == job.model_id
        with store.reading() as conn:
            version = (
                conn.execute(models.select().where(models.c.id == job.model_id)).first().version
            )
        assert version == 1
        assert len(job.forecast["expected"]) == 24 and job.forecast["model"] == "seasonal_naive"
        assert pd.Timestamp(job.forecast["start"]) == lead.index[-1] + pd.Timedelta("1h")
    finally:
        store.close()

    again = home.once("--no-alerts")
    assert (again["scored"], again["points"], again["forecasts"]) == (0, 0, 0)


def test_only_new_readings_are_scored(home: Home, lead: pd.DataFrame) -> None:
    """After a day of new readings a pass scores that day only (from the start of an event still
    open at the previous end, so it keeps its start), with the same model, and hands on only
    events inside what it scored."""
    old, new = lead.iloc[:-24], lead.iloc[-24:]
    home.push("b118", old)
    store = home.store()
    handed: list[MeterEvents] = []
    try:
        Worker(store, handed.append, JobPolicy(), models_dir=home.models).run_once()
        before = SqlJobRepository(store).meters()[0]
        home.push("b118", new)
        report = Worker(store, handed.append, JobPolicy(), models_dir=home.models).run_once()
        after = SqlJobRepository(store).meters()[0]
        run = SqlRunRepository(store).last("b118")
    finally:
        store.close()
    start = new.index[0] if before.open_from is None else pd.Timestamp(before.open_from, unit="us")
    assert run.data_from == start and run.data_to == new.index[-1]
    assert [s.points for s in report.scored] == [len(pd.date_range(start, new.index[-1], freq="h"))]
    assert after.model_id == before.model_id and after.scored_to == to_us(new.index[-1], None)
    assert len(handed) == 2 and (handed[1].events["start"] >= start).all()


def test_retrains_when_the_model_is_older_than_the_policy(home: Home, lead: pd.DataFrame) -> None:
    """With the model eight days old and a week of new readings scored, a pass fits version 2 of
    the meter's model on the newest weeks and scores with it from then on."""
    home.push("b118", lead.iloc[: -7 * 24])
    store = home.store()
    handed: list[MeterEvents] = []
    try:
        Worker(store, handed.append, JobPolicy(), models_dir=home.models).run_once()
        home.push("b118", lead.iloc[-7 * 24 :])
        in_8_days = lambda: utcnow() + timedelta(days=8)  # noqa: E731
        later = Worker(store, handed.append, JobPolicy(), clock=in_8_days, models_dir=home.models)
        report = later.run_once()
        job = SqlJobRepository(store).meters()[0]
        with store.reading() as conn:
            rows = conn.execute(models.select().order_by(models.c.version)).all()
    finally:
        store.close()
    assert report.retrained == ["b118"]
    assert [r.version for r in rows] == [1, 2] and len({r.key for r in rows}) == 1
    assert job.model_id == rows[-1].id and job.trained_to == job.scored_to
    assert len(handed) == 2  # one batch per scoring pass, each handed on once
