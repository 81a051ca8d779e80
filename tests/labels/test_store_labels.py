"""The labels repository: one clear message per bad input, nothing half-written; versions."""

from __future__ import annotations

import pandas as pd
import pytest

from core.errors import DataError
from core.store.db import NotFoundError
from core.store.labels import SqlLabelRepository, read_label_file, spans_from_column
from core.store.model_versions import SqlModelVersionRepository
from core.store.runs import SqlRunRepository, register_model
from tests.labels.conftest import METER, spans


def test_add_list_export_round_trip(store, series):
    """Labels come back in time order with who and the event; the CSV reads back as a label file."""
    repo = SqlLabelRepository(store)
    idx = series[0].index
    repo.add_many(METER, spans(idx), author="ana")
    listed = repo.list(METER)
    assert list(listed["verdict"]) == ["not_anomaly"] * 3 + ["real"] * 3
    assert set(listed["author"]) == {"ana"}
    back = read_label_file(repo.export_csv(METER).encode())
    assert len(back) == 6 and {"start", "end", "verdict"} <= set(back.columns)


def test_a_span_outside_the_data_is_refused(store, series):
    """A label after the last reading names the meter's data span."""
    with pytest.raises(DataError, match="outside meter boiler's data"):
        SqlLabelRepository(store).add(METER, "2030-01-01", "2030-01-02", "real")


def test_disagreeing_overlap_is_refused_and_nothing_is_written(store, series):
    """A batch whose second label contradicts a stored one writes none of the batch."""
    repo = SqlLabelRepository(store)
    idx = series[0].index
    repo.add(METER, idx[10], idx[20], "real")
    batch = pd.DataFrame(
        [(idx[100], idx[101], "expected"), (idx[15], idx[25], "not_anomaly")],
        columns=["start", "end", "verdict"],
    )
    with pytest.raises(DataError, match="labels that disagree cannot overlap"):
        repo.add_many(METER, batch)
    assert len(repo.list(METER)) == 1
    repo.add(METER, idx[15], idx[25], "real")  # agreeing overlaps are fine


def test_unknown_event_is_not_found(store):
    """An event id the meter does not have is a NotFoundError."""
    with pytest.raises(NotFoundError, match="no detection event 999"):
        SqlLabelRepository(store).add(METER, None, None, "real", event_id=999)


def test_an_event_label_takes_the_event_span(store, series):
    """Labelling a stored event stores its span and its id."""
    idx = series[0].index
    events = pd.DataFrame(
        [
            {
                "start": idx[50],
                "end": idx[52],
                "type": "spike",
                "peak_score": 4.0,
                "excess": 3.0,
                "cause": "x",
            }
        ]
    )
    runs = SqlRunRepository(store)
    run = runs.record(METER, detector="ensemble", threshold={}, events=events, points=10, flagged=3)
    event_id = int(runs.events(run, ids=True)["id"].iloc[0])
    repo = SqlLabelRepository(store)
    repo.add(METER, None, None, "not_anomaly", event_id=event_id)
    row = repo.list(METER).iloc[0]
    assert row["start"] == idx[50] and row["end"] == idx[52] and row["event_id"] == event_id
    dismissed = repo.dismissed_events(METER)
    assert dismissed["type"].tolist() == ["spike"] and dismissed["excess"].tolist() == [3.0]


def test_a_label_file_with_wrong_columns_names_them():
    """A CSV without start/end/verdict says which columns a label file needs."""
    with pytest.raises(DataError, match="has no column end, verdict"):
        read_label_file(b"start,label\n2024-01-01,1\n", "bad.csv")


def test_bad_verdict_and_unknown_meter(store):
    """A verdict off the list and a meter nobody stored each get one message."""
    repo = SqlLabelRepository(store)
    with pytest.raises(DataError, match="verdict must be one of"):
        repo.add(METER, "2023-01-03", "2023-01-03 05:00", "maybe")
    with pytest.raises(NotFoundError):
        repo.add("nope", "2023-01-03", "2023-01-03 05:00", "real")


def test_a_label_column_becomes_real_spans(series):
    """Runs of 1 in an upload's label column become one real span each."""
    frame, injected = series
    s = spans_from_column(injected.astype(float))
    assert len(s) == 4 and set(s["verdict"]) == {"real"}
    assert s["start"].iloc[0] == frame.index[702]


def test_versions_are_kept_and_roll_back(store):
    """Each version becomes current; rollback points at the previous one and keeps both."""
    repo = SqlModelVersionRepository(store)
    ids = [
        register_model(
            store,
            detector="learned",
            settings={},
            key="labels/1/learned",
            artefact_path=f"/m/{i}",
            library_versions={},
        )[0]
        for i in range(2)
    ]
    assert repo.add_version(METER, ids[0], labels_used=5, metrics={"f1": 0.5}) == 1
    assert repo.add_version(METER, ids[1], labels_used=6, metrics={"f1": 0.7}) == 2
    assert repo.current(METER).version == 2
    back = repo.rollback(METER)
    assert back.version == 1 and back.current and back.metrics == {"f1": 0.5}
    assert [v.version for v in repo.versions(METER)] == [2, 1]
    with pytest.raises(DataError, match="no version before"):
        repo.rollback(METER)
    with pytest.raises(NotFoundError, match="no model version 7"):
        repo.rollback(METER, to_version=7)
