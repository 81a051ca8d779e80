"""A worker killed in the middle of a pass: the next one finishes it without scoring or sending twice."""

from __future__ import annotations

import pandas as pd
import pytest

from core.jobs.dispatch import MeterEvents
from core.jobs.policy import JobPolicy
from core.jobs.worker import Worker
from core.store.jobs import SqlJobRepository
from core.store.readings import to_us
from core.store.runs import SqlRunRepository
from tests.jobs.conftest import Home


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler catches it."""


def test_a_pass_killed_before_the_alerts_is_finished_by_the_next(
    home: Home, lead: pd.DataFrame
) -> None:
    """Killed after recording its run and before handing the events on, a pass leaves the run
    pending; the next worker process hands that run's events on (same run, no rescoring), advances
    the meter, and a third pass scores nothing."""
    home.push("b118", lead)
    store = home.store()
    handed: list[MeterEvents] = []

    def crash(batch: MeterEvents) -> None:
        handed.append(batch)
        raise Killed

    try:
        with pytest.raises(Killed):
            Worker(store, crash, JobPolicy(), models_dir=home.models).run_once()
        job = SqlJobRepository(store).meters()[0]
        assert job.pending_run_id == handed[0].run_id and job.scored_to is None

        recovered = home.once("--no-alerts")
        assert (recovered["finished_pending"], recovered["scored"]) == (1, 0)
        job = SqlJobRepository(store).meters()[0]
        runs = SqlRunRepository(store).runs("b118")
        assert [r.id for r in runs] == [handed[0].run_id]  # no second run of the same readings
        assert job.pending_run_id is None and job.scored_to == to_us(lead.index[-1], None)

        again: list[MeterEvents] = []
        third = Worker(store, again.append, JobPolicy(), models_dir=home.models).run_once()
        assert third.scored == [] and len(SqlRunRepository(store).runs("b118")) == 1
        assert all(b.run_id == handed[0].run_id for b in again)  # at most the open event again
    finally:
        store.close()


def test_pending_events_come_back_with_their_open_flags(home: Home, lead: pd.DataFrame) -> None:
    """What a finished pass hands on is the recorded run's events, ``open`` where they reached the
    newest reading scored: the same events the killed pass was handing on."""
    home.push("b118", lead)
    store = home.store()
    first: list[MeterEvents] = []
    second: list[MeterEvents] = []

    def crash(batch: MeterEvents) -> None:
        first.append(batch)
        raise Killed

    try:
        with pytest.raises(Killed):
            Worker(store, crash, JobPolicy(), models_dir=home.models).run_once()
        Worker(store, second.append, JobPolicy(), models_dir=home.models).run_once()
    finally:
        store.close()
    cols = ["start", "end", "type", "open"]
    assert second[0].run_id == first[0].run_id and second[0].newest == first[0].newest
    pd.testing.assert_frame_equal(
        second[0].events[cols].reset_index(drop=True), first[0].events[cols].reset_index(drop=True)
    )
