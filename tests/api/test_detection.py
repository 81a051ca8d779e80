"""Detection through the API is the one detection run: the same events as ``run_detection`` on the
same readings, recorded where ``SqlRunRepository`` reads them, and labels stored as the app's."""

from __future__ import annotations

import pandas as pd
import pytest

from core.api.stateless import sensitivity_k, settled_history
from core.detect.pipeline import DetectorSettings, causal_settings, make_detector
from core.detect.run import judge_last, learn_reference, run_detection
from core.detect.thresholds import DEFAULT_K, ThresholdSettings
from core.store.db import open_store
from core.store.runs import SqlRunRepository
from tests.api.conftest import anomalous, create_meter, push


def _same_events(api_events: list[dict], expected: pd.DataFrame) -> None:
    assert len(api_events) == len(expected) > 0
    for got, want in zip(api_events, expected.itertuples(index=False), strict=True):
        assert got["start"] == want.start.isoformat() and got["end"] == want.end.isoformat()
        assert (got["type"], got["cause"]) == (want.type, want.cause)
        assert got["excess"] == pytest.approx(want.excess, rel=1e-9)
        assert got["peak_score"] == pytest.approx(want.peak_score, rel=1e-9)
        assert got["mean_score"] == pytest.approx(want.mean_score, rel=1e-9)


@pytest.fixture(scope="module")
def detected(sqlite_api):
    """A meter pushed in batches of 500, detected with a non-default threshold through the API."""
    frame = anomalous()
    with sqlite_api.client() as client:
        name = create_meter(client)
        push(client, name, frame)
        body = {"detector": "ensemble", "threshold": {"k": 2.2, "direction": "both"}}
        response = client.post(f"/v1/meters/{name}/detect", json=body)
    assert response.status_code == 200, response.text
    return name, frame, response.json()


def test_detect_gives_the_events_run_detection_gives(detected) -> None:
    """POST /detect answers exactly the events of run_detection on the same readings and settings."""
    _, frame, answer = detected
    local = run_detection(
        frame, DetectorSettings("ensemble"), ThresholdSettings(k=2.2), freq="1h", unit="kWh"
    )
    _same_events(answer["events"], local.events)
    assert answer["summary"] == local.summary()
    assert answer["run"]["flagged"] == local.n_flagged and answer["run"]["threshold"]["k"] == 2.2


def test_the_run_is_recorded_where_the_app_reads_it(detected, sqlite_api, client) -> None:
    """The run and its events are in the database (SqlRunRepository) and on GET runs / events."""
    name, _, answer = detected
    store = open_store(sqlite_api.db_url, home=sqlite_api.home)
    try:
        runs = SqlRunRepository(store)
        last = runs.last(name)
        stored = runs.events(last, ids=True)
    finally:
        store.close()
    assert last.id == answer["run"]["id"] and last.model_id == answer["run"]["model_id"] is not None
    assert stored["id"].tolist() == [e["id"] for e in answer["events"]]
    events = client.get(f"/v1/meters/{name}/events").json()
    assert events["events"] == answer["events"] and events["run"] == answer["run"]
    by_id = client.get(f"/v1/meters/{name}/runs/{last.id}").json()
    assert by_id == events
    listed = client.get(f"/v1/meters/{name}/runs").json()["runs"]
    assert listed[0] == answer["run"]


def test_detecting_again_reuses_the_registered_model(detected, client) -> None:
    """A second detection on unchanged readings uses the cached model: same registry id and events."""
    name, _, answer = detected
    again = client.post(
        f"/v1/meters/{name}/detect", json={"threshold": {"k": 2.2, "direction": "both"}}
    ).json()
    assert again["run"]["id"] != answer["run"]["id"]
    assert again["run"]["model_id"] == answer["run"]["model_id"]
    assert [e["start"] for e in again["events"]] == [e["start"] for e in answer["events"]]


def test_labels_on_an_event_and_a_span_are_stored_for_the_meter(
    detected, sqlite_api, client
) -> None:
    """Labelling an event stores its span and verdict; a span label too; GET labels lists both."""
    name, _, answer = detected
    event = answer["events"][0]
    labelled = client.post(
        f"/v1/events/{event['id']}/label",
        json={"verdict": "expected", "note": "cleaning crew", "author": "ana"},
    )
    assert labelled.status_code == 201, labelled.text
    assert labelled.json()["start"] == event["start"] and labelled.json()["event_id"] == event["id"]
    span = client.post(
        f"/v1/meters/{name}/labels",
        json={"start": "2023-01-03T00:00:00", "end": "2023-01-03T06:00:00", "verdict": "real"},
    )
    assert span.status_code == 201, span.text
    store = open_store(sqlite_api.db_url, home=sqlite_api.home)
    try:
        labels = SqlRunRepository(store).labels(name)
    finally:
        store.close()
    assert set(labels["verdict"]) == {"expected", "real"}
    listed = client.get(f"/v1/meters/{name}/labels").json()["labels"]
    assert [(x["start"], x["verdict"], x["note"]) for x in listed] == [
        ("2023-01-03T00:00:00", "real", None),
        (event["start"], "expected", "cleaning crew"),
    ]


def _series(frame: pd.DataFrame) -> list[dict]:
    return [
        {"timestamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "value": v}
        for t, v in zip(frame.index, frame["value"], strict=True)
    ]


def test_entire_is_run_detection_with_the_sensitivity_threshold(client) -> None:
    """/detect/entire flags the points run_detection flags at k from the sensitivity, per point."""
    frame = anomalous()[["value"]]
    body = {"series": _series(frame), "granularity": "hourly", "sensitivity": 90}
    answer = client.post("/v1/detect/entire", json=body)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    k = sensitivity_k(90)
    utc = frame.tz_localize("UTC")
    local = run_detection(
        utc, DetectorSettings("ensemble"), ThresholdSettings(k=k), freq="1h", unit="kWh"
    )
    assert got["threshold"] == k == pytest.approx(DEFAULT_K + 0.5)
    assert got["isAnomaly"] == local.flags.tolist() and any(got["isAnomaly"])
    assert got["expectedValues"][200] == pytest.approx(local.scored["expected"].iloc[200])
    assert [e["start"] for e in got["events"]] == [t.isoformat() for t in local.events["start"]]
    pos, neg = got["isPositiveAnomaly"], got["isNegativeAnomaly"]
    assert [p or n for p, n in zip(pos, neg, strict=True)] == got["isAnomaly"]


def test_last_judges_the_last_point_after_the_others(client) -> None:
    """/detect/last flags a spike at the end and not a usual reading, judged after the whole days
    before its own (``settled_history``) as ``judge_last`` judges it."""
    frame = anomalous()[["value"]].iloc[:700].copy()
    normal = client.post(
        "/v1/detect/last", json={"series": _series(frame), "granularity": "hourly"}
    )
    assert normal.status_code == 200, normal.text
    spiked = frame.copy()
    spiked.iloc[-1, 0] = spiked["value"].iloc[-1] * 5 + 80
    answer = client.post(
        "/v1/detect/last", json={"series": _series(spiked), "granularity": "hourly"}
    )
    got = answer.json()
    settings = causal_settings(DetectorSettings("ensemble"))
    utc = spiked.tz_localize("UTC")
    history = settled_history(utc, pd.Timedelta("1h"), 48)
    fitted = make_detector(settings).fit(history)
    threshold = ThresholdSettings(k=DEFAULT_K)
    reference = learn_reference(fitted, history, threshold)
    local = judge_last(utc, fitted, reference, threshold, freq="1h", unit="kWh")
    assert normal.json()["isAnomaly"] is False
    assert got["isAnomaly"] is True and got["isPositiveAnomaly"] is True
    assert got["isAnomaly"] == bool(local.flags.iloc[-1])
    assert got["suggestedWindow"] == len(history) < 699 and len(history) % 24 == 0
    assert got["expectedValue"] == pytest.approx(local.scored["expected"].iloc[-1])
    assert got["events"] and got["events"][-1]["end"] == utc.index[-1].isoformat()


def test_sensitivity_maps_to_k_as_documented() -> None:
    """95 is the default k, every point of sensitivity moves k by 0.1, higher flags more."""
    assert sensitivity_k(95) == DEFAULT_K
    assert sensitivity_k(99) == pytest.approx(DEFAULT_K - 0.4)
    assert sensitivity_k(0) == pytest.approx(DEFAULT_K + 9.5)
    assert all(sensitivity_k(s) > sensitivity_k(s + 1) for s in range(99))


def test_a_series_out_of_order_names_the_point(client) -> None:
    """A series with a point before the one ahead of it is a 422 naming that point."""
    series = _series(anomalous()[["value"]].iloc[:60])
    series[10], series[11] = series[11], series[10]
    answer = client.post("/v1/detect/entire", json={"series": series})
    assert (
        answer.status_code == 422 and answer.json()["errors"][0]["field"] == "series[11].timestamp"
    )


def test_forecast_continues_after_the_last_reading(detected, client) -> None:
    """The seasonal-naive forecast has horizon steps after the last reading, each with a band."""
    name, frame, _ = detected
    answer = client.get(f"/v1/meters/{name}/forecast", params={"horizon": 5})
    assert answer.status_code == 200, answer.text
    points = answer.json()["forecast"]
    step = pd.Timedelta("1h")
    assert [p["timestamp"] for p in points] == [
        (frame.index[-1] + step * (i + 1)).isoformat() for i in range(5)
    ]
    assert all(p["lower"] <= p["expected"] <= p["upper"] for p in points)
