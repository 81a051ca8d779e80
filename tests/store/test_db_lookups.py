"""Lookups by id for the API: one run, one event, the newest registered model; and the error kinds
a front door tells apart (no such thing, a failed database), on both engines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.errors import DataError
from core.store.db import DatabaseError, NotFoundError, open_store
from core.store.meters import SqlMeterRepository
from core.store.runs import SqlRunRepository, latest_model, register_model
from tests.conftest import synthetic_frame
from tests.store.pg_server import free_port


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "start": pd.to_datetime(["2023-01-04 03:00", "2023-01-02 01:00"]),
            "end": pd.to_datetime(["2023-01-04 05:00", "2023-01-02 01:00"]),
            "type": ["flat", "spike"],
            "peak_score": [3.5, 6.0],
            "excess": [-2.0, 9.5],
            "cause": ["stuck", "a spike"],
        }
    )


@pytest.fixture
def recorded(store, meters: SqlMeterRepository):
    frame = synthetic_frame(7)
    frame.index = frame.index.as_unit("ns")
    meters.import_frame("site", frame, unit="kWh")
    meters.import_frame("other", frame, unit="kWh")
    runs = SqlRunRepository(store)
    run = runs.record("site", detector="x", threshold={}, events=_events(), points=9, flagged=3)
    return runs, run


def test_events_with_ids_lead_to_each_event(recorded) -> None:
    """events(run, ids=True) adds the stored ids, in time order; event(id) gives that event back."""
    runs, run = recorded
    listed = runs.events(run, ids=True)
    assert list(listed.columns) == [
        "id", "start", "end", "type", "peak_score", "mean_score", "excess", "cause"
    ]  # fmt: skip
    assert listed["mean_score"].isna().all()  # recorded without one: NULL, as before 0008
    assert listed["type"].tolist() == ["spike", "flat"]
    assert "id" not in runs.events(run).columns
    one = runs.event(int(listed["id"].iloc[1]))
    assert (one.meter, one.run_id, one.type, one.excess) == ("site", run.id, "flat", -2.0)
    assert one.mean_score is None
    assert (one.start, one.end) == (
        pd.Timestamp("2023-01-04 03:00"),
        pd.Timestamp("2023-01-04 05:00"),
    )


def test_an_events_mean_score_is_kept(recorded) -> None:
    """A run recorded with mean scores gives them back, per event and in the run's rows."""
    runs, _ = recorded
    events = _events().assign(mean_score=[3.1, 6.0])
    run = runs.record("site", detector="x", threshold={}, events=events, points=9, flagged=3)
    listed = runs.events(run, ids=True)
    assert listed["mean_score"].tolist() == [6.0, 3.1]  # time order: the spike first
    assert runs.event(int(listed["id"].iloc[1])).mean_score == 3.1


def test_a_run_is_found_by_id_on_its_own_meter_only(recorded) -> None:
    """run(meter, id) is the recorded run; the same id on another meter, or an unknown id, is not found."""
    runs, run = recorded
    assert runs.run("site", run.id) == run
    with pytest.raises(NotFoundError, match="no detection run"):
        runs.run("other", run.id)
    with pytest.raises(NotFoundError):
        runs.run("site", run.id + 100)


def test_an_event_of_another_owner_or_unknown_id_is_not_found(recorded) -> None:
    """event() looks only at the owner's meters, and an unknown id says so."""
    runs, run = recorded
    event_id = int(runs.events(run, ids=True)["id"].iloc[0])
    with pytest.raises(NotFoundError):
        runs.event(event_id, owner="someone-else")
    with pytest.raises(NotFoundError, match="no detection event 424242"):
        runs.event(424242)


def test_a_missing_meter_is_not_found_and_still_a_data_error(meters: SqlMeterRepository) -> None:
    """get / load / delete of an unknown meter raise NotFoundError, a DataError as before."""
    for call in (meters.get, meters.load, meters.delete):
        with pytest.raises(NotFoundError) as caught:
            call("nope")
        assert isinstance(caught.value, DataError) and "no meter named 'nope'" in str(caught.value)


def test_latest_model_is_the_newest_version_of_a_key(store) -> None:
    """latest_model gives the id of the last registered version, None for an unknown key."""
    args = dict(detector="ensemble", settings={}, artefact_path="m", library_versions={})
    register_model(store, key="k1", **args)
    newest, version = register_model(store, key="k1", **args)
    assert version == 2 and latest_model(store, "k1") == newest
    assert latest_model(store, "never") is None


def test_an_unreachable_database_is_a_database_error(tmp_path: Path) -> None:
    """Driver failures come out as DatabaseError (a DataError), not as a NotFoundError."""
    with pytest.raises(DatabaseError) as caught:
        open_store(f"postgresql+psycopg://wattsup@127.0.0.1:{free_port()}/x", home=tmp_path)
    assert isinstance(caught.value, DataError) and not isinstance(caught.value, NotFoundError)
