"""Fleet runs in the database: rows written as meters finish, read back as stored, per owner."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from core.fleet.run import outcome_row
from core.fleet.runner import score_fleet
from core.fleet.sources import FailedItem, FrameItem
from core.store.db import NotFoundError, Store, open_store
from core.store.fleet import ROW_KEYS, SqlFleetRepository


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'w.db'}", home=tmp_path)
    yield opened
    opened.close()


def test_rows_round_trip_with_failures_counted(store: Store, meters) -> None:
    """Each meter's row reads back as written (times, figures, sparkline); failures keep their
    reason and count in the run."""
    items = [FrameItem(meters[0]), FailedItem("bad", "bad.csv is empty: upload a file.")]
    rows = [outcome_row(o) for o in score_fleet(items, runner="local")]
    repo = SqlFleetRepository(store)
    run = repo.start("two meters", runner="local", settings={"detector": "ensemble"})
    assert run.finished is None and repo.latest() == run
    assert repo.add_rows(run.id, rows) == 2
    done = repo.finish(run.id)
    assert (done.meters, done.failed) == (2, 1) and done.finished is not None
    back = repo.rows(run.id).set_index("meter")
    assert list(back.reset_index().columns) == list(ROW_KEYS)
    written = rows[0]
    got = back.loc[written["meter"]]
    for key in ("last_reading", "start", "worst_start", "worst_type", "events", "flat_runs"):
        assert got[key] == written[key], key
    for key in ("excess_over_kwh", "excess_under_kwh", "missing_share", "anomaly_hours"):
        assert got[key] == pytest.approx(written[key]), key
    assert got["sparkline"] == pytest.approx(list(written["sparkline"]))
    assert back.loc["bad", "error"] == "bad.csv is empty: upload a file."
    assert math.isnan(back.loc["bad", "excess_over_kwh"])


def test_time_zones_come_back_in_the_meters_zone(store: Store) -> None:
    """A meter in Europe/Amsterdam has its times read back in that zone."""
    when = pd.Timestamp("2024-03-31 12:00", tz="Europe/Amsterdam")
    repo = SqlFleetRepository(store)
    run = repo.start("one", runner="local", settings={})
    repo.add_rows(run.id, [{"meter": "m", "last_reading": when, "sparkline": [1.0, float("nan")]}])
    back = repo.rows(run.id)
    assert back.loc[0, "last_reading"] == when
    assert str(back.loc[0, "last_reading"].tz) == "Europe/Amsterdam"
    assert back.loc[0, "sparkline"] == [1.0, None]


def test_a_second_write_of_a_meter_replaces_its_row(store: Store) -> None:
    repo = SqlFleetRepository(store)
    run = repo.start("one", runner="local", settings={})
    repo.add_rows(run.id, [{"meter": "m", "events": 1}])
    repo.add_rows(run.id, [{"meter": "m", "events": 3}])
    assert repo.rows(run.id)["events"].tolist() == [3]


def test_another_owners_run_is_not_found(store: Store) -> None:
    """A run of acme is invisible to the workspace, exactly like a missing one."""
    repo = SqlFleetRepository(store)
    theirs = repo.start("acme's", runner="local", settings={}, owner="acme")
    ours = repo.start("ours", runner="local", settings={})
    repo.finish(ours.id)
    assert repo.latest().id == ours.id and repo.latest(owner="acme").id == theirs.id
    assert [r.id for r in repo.runs()] == [ours.id]
    for missing in (theirs.id, 999):
        with pytest.raises(NotFoundError, match=f"no fleet run {missing}"):
            repo.rows(missing)
    with pytest.raises(NotFoundError):
        repo.add_rows(theirs.id, [{"meter": "m"}])


def test_latest_prefers_a_finished_run(store: Store) -> None:
    """A run still writing does not hide the last complete one from the page."""
    repo = SqlFleetRepository(store)
    first = repo.start("first", runner="local", settings={})
    repo.finish(first.id)
    repo.start("second", runner="local", settings={})
    assert repo.latest().id == first.id
