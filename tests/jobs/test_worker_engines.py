"""A worker pass on both engines: the job state, lease and runs behave the same on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.jobs import worker as worker_module
from core.jobs.dispatch import MeterEvents, no_dispatch
from core.jobs.policy import JobPolicy
from core.jobs.worker import Worker
from core.store.db import open_store
from core.store.jobs import SqlJobRepository, SqlLeaseRepository
from core.store.meters import SqlMeterRepository
from core.store.readings import to_us
from core.store.runs import SqlRunRepository
from tests.jobs.conftest import Home


def test_a_pass_scores_records_and_releases_on_each_engine(
    db_url: str, tmp_path: Path, lead: pd.DataFrame
) -> None:
    """One pass scores the meter's last week, keeps its state and forecast, hands one batch on and
    leaves the lease released; the next pass has nothing to score."""
    store = open_store(db_url, home=tmp_path)
    handed: list[MeterEvents] = []
    try:
        SqlMeterRepository(store).import_frame("b118", lead, unit="kWh", step=pd.Timedelta("1h"))
        first = Worker(store, handed.append, JobPolicy(), models_dir=tmp_path / "m").run_once()
        job = SqlJobRepository(store).meters()[0]
        second = Worker(store, handed.append, JobPolicy(), models_dir=tmp_path / "m").run_once()
        lease = SqlLeaseRepository(store).current()
    finally:
        store.close()
    assert [s.points for s in first.scored] == [7 * 24] and first.errors == {}
    assert job.scored_to == to_us(lead.index[-1], None) and job.forecast is not None
    assert second.scored == [] and lease is not None and lease.expired()
    assert len({b.run_id for b in handed}) == 1


def test_a_big_pass_split_over_processes_scores_each_meter_once(
    home: Home, lead: pd.DataFrame, monkeypatch
) -> None:
    """With ``processes=2`` the due meters are scored in two spawned children (the parent keeps
    the lease): each meter gets one run and its state advances, as in one process."""
    monkeypatch.setattr(worker_module, "PARALLEL_FROM", 1)
    home.push("b118", lead)
    home.push("b118-copy", lead * 1.1)
    store = home.store()
    try:
        report = Worker(
            store,
            no_dispatch,
            JobPolicy(),
            models_dir=home.models,
            processes=2,
            dispatch_name="none",
        ).run_once()
        jobs = SqlJobRepository(store).meters()
        runs = [len(SqlRunRepository(store).runs(j.name)) for j in jobs]
    finally:
        store.close()
    assert sorted(s.meter for s in report.scored) == ["b118", "b118-copy"] and report.errors == {}
    assert runs == [1, 1] and all(j.scored_to == to_us(lead.index[-1], None) for j in jobs)
