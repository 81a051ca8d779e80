"""Detection runs with their events, labels and the model registry, on both engines."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from sqlalchemy import func, select

from core.detect.pipeline import DetectorSettings
from core.detect.run import run_detection
from core.detect.thresholds import ThresholdSettings
from core.errors import DataError
from core.store.meters import SqlMeterRepository
from core.store.runs import EVENT_COLUMNS, SqlRunRepository, register_model
from core.store.schema import detection_runs, events, labels
from tests.conftest import inject_anomalies, synthetic_frame


@pytest.fixture
def detection(meters: SqlMeterRepository):
    """A meter saved from a frame with injected anomalies, and a real detection run on what loads back."""
    frame, _ = inject_anomalies(synthetic_frame())
    frame.index = frame.index.as_unit("ns")
    meters.import_frame("site", frame, unit="kWh")
    stored = meters.load("site")
    threshold = ThresholdSettings()
    result = run_detection(
        stored, DetectorSettings("rolling_z"), threshold, freq=pd.Timedelta("1h"), unit="kWh"
    )
    assert result.n_events > 0
    return result, threshold


def test_a_run_and_its_events_come_back_as_recorded(store, detection) -> None:
    """record() then last() and events() give the run's counts, settings and every event's fields."""
    result, threshold = detection
    runs = SqlRunRepository(store)
    recorded = runs.record(
        "site",
        detector="rolling_z",
        threshold=dataclasses.asdict(threshold),
        events=result.events,
        points=len(result.scored),
        flagged=result.n_flagged,
        energy_unit=result.energy_unit,
        data_from=result.scored.index[0],
        data_to=result.scored.index[-1],
    )
    last = runs.last("site")
    assert last == recorded
    assert (last.events, last.flagged, last.points) == (
        result.n_events,
        result.n_flagged,
        len(result.scored),
    )
    assert last.threshold == dataclasses.asdict(threshold)
    assert last.data_from == result.scored.index[0]
    expected = result.events[list(EVENT_COLUMNS)].reset_index(drop=True)
    pd.testing.assert_frame_equal(runs.events(last), expected, check_dtype=False)


def test_last_is_the_newest_run(store, detection, meters: SqlMeterRepository) -> None:
    """With two runs last() is the second; a meter without runs has None."""
    result, threshold = detection
    runs = SqlRunRepository(store)
    settings = dataclasses.asdict(threshold)
    first = runs.record(
        "site", detector="a", threshold=settings, events=result.events, points=1, flagged=0
    )
    second = runs.record(
        "site", detector="b", threshold=settings, events=result.events.iloc[:0], points=1, flagged=0
    )
    assert runs.last("site") == second and [r.id for r in runs.runs("site")] == [
        second.id,
        first.id,
    ]
    assert runs.events(second).empty
    meters.import_frame(
        "quiet", synthetic_frame(7).set_axis(synthetic_frame(7).index.as_unit("ns"))
    )
    assert runs.last("quiet") is None


def test_labels_are_kept_and_checked(store, meters: SqlMeterRepository) -> None:
    """A label keeps its span, verdict, note and author; an unknown verdict or reversed span is refused."""
    meters.import_frame("site", synthetic_frame(7).set_axis(synthetic_frame(7).index.as_unit("ns")))
    runs = SqlRunRepository(store)
    runs.add_label(
        "site", "2023-01-03 10:00", "2023-01-03 12:00", "expected", note="drill", author="ana"
    )
    got = runs.labels("site")
    assert got[["verdict", "note", "author"]].values.tolist() == [["expected", "drill", "ana"]]
    assert got["start"].iloc[0] == pd.Timestamp("2023-01-03 10:00")
    with pytest.raises(DataError, match="verdict"):
        runs.add_label("site", "2023-01-03", "2023-01-04", "maybe")
    with pytest.raises(DataError, match="ends"):
        runs.add_label("site", "2023-01-04", "2023-01-03", "real")


def test_deleting_a_meter_deletes_its_runs_events_and_labels(
    store, detection, meters: SqlMeterRepository
) -> None:
    """The foreign keys cascade on both engines (SQLite's are switched on per connection)."""
    result, threshold = detection
    runs = SqlRunRepository(store)
    runs.record(
        "site",
        detector="x",
        threshold=dataclasses.asdict(threshold),
        events=result.events,
        points=1,
        flagged=1,
    )
    runs.add_label("site", "2023-01-03", "2023-01-04", "real")
    meters.delete("site")
    with store.reading() as conn:
        for table in (detection_runs, events, labels):
            assert conn.scalar(select(func.count()).select_from(table)) == 0


def test_model_versions_count_up_per_key(store) -> None:
    """Registering the same key twice gives versions 1 and 2; another key starts at 1."""
    args = dict(detector="ensemble", settings={"k": 2.0}, artefact_path="m", library_versions={})
    assert register_model(store, key="abc", **args)[1] == 1
    assert register_model(store, key="abc", **args)[1] == 2
    assert register_model(store, key="other", **args)[1] == 1
