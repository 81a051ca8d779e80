"""Pushing readings: three formats, idempotent on (meter, time), every rejected row named."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import create_meter, hourly, push, records


def _readings(client, name: str, **params) -> list[dict]:
    response = client.get(f"/v1/meters/{name}/readings", params=params)
    assert response.status_code == 200, response.text
    return response.json()["readings"]


def _body(rows: list[dict], fmt: str) -> tuple[bytes, str]:
    if fmt == "json":
        return json.dumps(rows).encode(), "application/json"
    if fmt == "ndjson":
        return "".join(json.dumps(r) + "\n" for r in rows).encode(), "application/x-ndjson"
    lines = ["timestamp,value,temperature"]
    lines += [f"{r['timestamp']},{r['value']},{r['temperature']}" for r in rows]
    return ("\n".join(lines) + "\n").encode(), "text/csv"


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv"])
def test_each_format_stores_the_same_readings(any_api, fmt) -> None:
    """A JSON list, NDJSON and CSV body of the same readings store and read back the same values."""
    rows = records(hourly(3))
    with any_api.client() as client:
        name = create_meter(client)
        data, media = _body(rows, fmt)
        response = client.post(
            f"/v1/meters/{name}/readings", content=data, headers={"content-type": media}
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert (report["format"], report["received"], report["inserted"]) == (fmt, 72, 72)
        assert report["rejected"] == 0 and report["rejected_rows"] == []
        back = _readings(client, name)
    assert [r["timestamp"] for r in back] == [r["timestamp"] for r in rows]
    assert [r["value"] for r in back] == [r["value"] for r in rows]
    assert [r["temperature"] for r in back] == [r["temperature"] for r in rows]


def test_pushing_again_changes_nothing_and_conflicts_follow_the_policy(any_api) -> None:
    """A re-sent batch is all unchanged; changed values are conflicting: kept, or replaced."""
    rows = records(hourly(2))
    with any_api.client() as client:
        name = create_meter(client)
        push(client, name, hourly(2))
        again = push(client, name, hourly(2))[0]
        assert (again["inserted"], again["unchanged"], again["conflicting"]) == (0, 48, 0)
        changed = [{**r, "value": r["value"] + 1} for r in rows[:5]]
        url = f"/v1/meters/{name}/readings"
        kept = client.post(url, json=changed).json()
        assert (kept["conflicting"], kept["replaced"], len(kept["conflicts"])) == (5, 0, 5)
        assert _readings(client, name)[0]["value"] == rows[0]["value"]
        skipped = client.post(url, params={"on_conflict": "skip"}, json=changed).json()
        assert skipped["skipped"] is True and skipped["inserted"] == 0
        replaced = client.post(url, params={"on_conflict": "replace"}, json=changed).json()
        assert replaced["replaced"] == 5
        assert _readings(client, name)[0]["value"] == rows[0]["value"] + 1


def test_rejected_rows_name_the_row_the_field_and_the_fix(client) -> None:
    """Bad readings are listed by row, field and reason; the good ones are stored."""
    name = create_meter(client)
    body = [
        {"timestamp": "2024-01-01T00:00:00", "value": 1.0},
        {"timestamp": "2024-01-01T01:00:00", "value": "n/a"},
        {"value": 2.0},
        {"timestamp": "yesterday-ish", "value": 2.0},
        {"timestamp": "2024-01-01T02:30:00", "value": 2.0},
        {"timestamp": "2024-01-01T00:00:00", "value": 5.0},
        {"timestamp": "2024-01-01T03:00:00+02:00", "value": 2.0},
        {"timestamp": "3024-01-01T03:00:00", "value": 2.0},
        {"timestamp": "2024-01-01T04:00:00", "value": 2.0, "temperature": True},
        [1, 2],
        {"timestamp": "2024-01-01T05:00:00", "value": None},
        {"timestamp": "2024-01-01T06:00:00", "value": 1e300},
    ]
    report = client.post(f"/v1/meters/{name}/readings", json=body).json()
    assert (report["received"], report["inserted"], report["rejected"]) == (12, 2, 10)
    rows = {r["row"]: r for r in report["rejected_rows"]}
    assert sorted(rows) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 12]
    assert rows[12]["field"] == "value" and "more than any meter reads" in rows[12]["reason"]
    assert rows[2]["field"] == "value" and "'n/a' is not a number" in rows[2]["reason"]
    assert rows[3]["field"] == "timestamp" and "has no timestamp" in rows[3]["reason"]
    assert "is not a time" in rows[4]["reason"] and "ISO 8601" in rows[4]["reason"]
    assert "1h step" in rows[5]["reason"]
    assert "same time as row 1" in rows[6]["reason"]
    assert "UTC offset" in rows[7]["reason"]
    assert "is not a time" in rows[8]["reason"]  # the year 3024
    assert rows[9]["field"] == "temperature" and "not a number" in rows[9]["reason"]
    assert "object" in rows[10]["reason"]
    stored = _readings(client, name)
    assert [(r["timestamp"], r["value"]) for r in stored] == [
        ("2024-01-01T00:00:00", 1.0),
        ("2024-01-01T05:00:00", None),
    ]


def test_strict_batches_and_all_rejected_batches_store_nothing(client) -> None:
    """strict=true refuses a batch with one bad row; a batch with no good row is a 422."""
    name = create_meter(client)
    url = f"/v1/meters/{name}/readings"
    body = [{"timestamp": "2024-01-01T00:00:00", "value": 1}, {"timestamp": "x", "value": 1}]
    strict = client.post(url, params={"strict": "true"}, json=body)
    assert strict.status_code == 422
    assert strict.json()["errors"][0]["row"] == 2 and "row 2" in strict.json()["detail"]
    none_good = client.post(url, json=[{"timestamp": "x", "value": 1}])
    assert none_good.status_code == 422 and "none of 1" in none_good.json()["detail"]
    assert _readings(client, name) == []


def test_a_zoned_meter_reads_local_and_offset_times_on_its_clock(client) -> None:
    """Naive times are wall-clock in the meter's zone and offsets are converted; out of order is fine."""
    name = create_meter(client, timezone="Europe/Amsterdam")
    body = [
        {"timestamp": "2024-06-01T02:00:00Z", "value": 3.0},
        {"timestamp": "2024-06-01T03:00:00", "value": 1.0},
    ]
    report = client.post(f"/v1/meters/{name}/readings", json=body).json()
    assert report["inserted"] == 2, report
    assert [r["timestamp"] for r in _readings(client, name)] == [
        "2024-06-01T03:00:00+02:00",
        "2024-06-01T04:00:00+02:00",
    ]
    assert [r["value"] for r in _readings(client, name)] == [1.0, 3.0]


def test_readings_come_back_in_pages_and_resampled(client) -> None:
    """GET pages with a next start, sums kWh per day (a day with a gap is null) and bounds by time."""
    frame = hourly(3)
    name = create_meter(client)
    push(client, name, frame.drop(frame.index[30]))
    first = client.get(f"/v1/meters/{name}/readings", params={"limit": 10}).json()
    assert first["count"] == 10 and first["next"] == frame.index[10].isoformat()
    daily = client.get(f"/v1/meters/{name}/readings", params={"step": "1D"}).json()
    assert daily["resampled"] == {"step": "1D", "how": "sum"}
    sums = [r["value"] for r in daily["readings"]]
    assert sums[0] == pytest.approx(frame["value"].iloc[:24].sum()) and sums[1] is None
    window = _readings(
        client, name, start=frame.index[5].isoformat(), end=frame.index[8].isoformat()
    )
    assert [r["timestamp"] for r in window] == [t.isoformat() for t in frame.index[5:8]]
