"""Bad input gets a 4xx problem+json body that names the field or row and what to do, never a
500 or a traceback."""

from __future__ import annotations

import pytest

from tests.api.conftest import create_meter
from tests.api.server import BATCH_LIMIT, BODY_LIMIT_MB

PROBLEM = "application/problem+json"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["detail"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body


def test_a_body_that_is_not_json_is_a_400_naming_the_position(client) -> None:
    """Broken JSON to a JSON route and to the readings route says it is not JSON, and where."""
    name = create_meter(client)
    headers = {"content-type": "application/json"}
    meter = _problem(client.post("/v1/meters", content=b'{"name": ', headers=headers), 400)
    assert "not valid JSON" in meter["detail"] and meter["errors"][0]["field"] == "body"
    readings = client.post(f"/v1/meters/{name}/readings", content=b"[{]", headers=headers)
    assert "not valid JSON" in _problem(readings, 400)["detail"]


def test_a_wrong_content_type_is_a_415_listing_the_ones_read(client) -> None:
    """Readings sent as XML (or with no content type) are refused with the three types accepted."""
    name = create_meter(client)
    url = f"/v1/meters/{name}/readings"
    xml = client.post(url, content=b"<r/>", headers={"content-type": "application/xml"})
    detail = _problem(xml, 415)["detail"]
    assert "application/json" in detail and "text/csv" in detail and "application/xml" in detail
    assert "no Content-Type" in _problem(client.post(url, content=b"x"), 415)["detail"]


def test_an_oversized_body_is_a_413_before_and_while_it_is_read(client) -> None:
    """A body over the limit is refused by its Content-Length, and also when sent in chunks."""
    name = create_meter(client)
    url = f"/v1/meters/{name}/readings"
    big = b"[" + b" " * (BODY_LIMIT_MB * 1024 * 1024) + b"]"
    headers = {"content-type": "application/json"}
    declared = _problem(client.post(url, content=big, headers=headers), 413)
    assert (
        f"{BODY_LIMIT_MB} MB limit" in declared["detail"]
        and "smaller batches" in declared["detail"]
    )

    def chunks():
        for i in range(0, len(big), 64 * 1024):
            yield big[i : i + 64 * 1024]

    streamed = client.post(url, content=chunks(), headers=headers)
    assert "limit" in _problem(streamed, 413)["detail"]


def test_a_batch_over_the_row_limit_is_a_422_saying_to_split_it(client) -> None:
    """One reading more than WATTSUP_API_MAX_BATCH is refused whole, with the limit and the fix."""
    name = create_meter(client)
    rows = [{"timestamp": 1_700_000_000 + 3600 * i, "value": 1} for i in range(BATCH_LIMIT + 1)]
    detail = _problem(client.post(f"/v1/meters/{name}/readings", json=rows), 422)["detail"]
    assert f"over the {BATCH_LIMIT:,}" in detail and "smaller batches" in detail
    assert client.get(f"/v1/meters/{name}").json()["readings"] == 0


def test_json_nested_too_deeply_is_refused_before_parsing(client) -> None:
    """A body of 5,000 nested lists is a 400 that says how deep it is and what to send."""
    body = b"[" * 5_000 + b"]" * 5_000
    response = client.post(
        "/v1/detect/entire", content=body, headers={"content-type": "application/json"}
    )
    detail = _problem(response, 400)["detail"]
    assert "5000 levels deep" in detail and "flat list" in detail


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": "x", "unit": "gallons"}, "unit", "Input should be"),
        ({"name": "x/y"}, "name", "pattern"),
        ({"name": "x", "timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"name": "x", "colour": "red"}, "colour", "not a field"),
        ({"unit": "kWh"}, "name", "is required"),
    ],
)
def test_invalid_fields_are_a_422_naming_each_one(client, body, field, words) -> None:
    """Each invalid or unknown field of a body is named with a readable message."""
    problem = _problem(client.post("/v1/meters", json=body), 422)
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert field in fields and words in fields[field], fields
    assert problem["detail"].startswith(f"{field}:")


def test_bad_settings_name_the_setting(client) -> None:
    """A bad step, threshold or query value is a 422 that names it."""
    step = _problem(client.post("/v1/meters", json={"name": "s1", "step": "fortnightly"}), 422)
    assert "fortnightly" in step["detail"] and "15min" in step["detail"]
    name = create_meter(client)
    detect = client.post(f"/v1/meters/{name}/detect", json={"threshold": {"percentile": 140}})
    assert _problem(detect, 422)["errors"][0]["field"] == "threshold.percentile"
    start = client.get(f"/v1/meters/{name}/readings", params={"start": "3024-01-01"})
    assert "3024" in _problem(start, 422)["detail"]
    limit = client.get(f"/v1/meters/{name}/readings", params={"limit": 0})
    assert _problem(limit, 422)["errors"][0]["field"] == "query.limit"


def test_unknown_things_are_404s_that_say_what_exists(client) -> None:
    """An unknown meter, event or route is a 404 problem that says what to do."""
    missing = _problem(client.get("/v1/meters/no-such-meter"), 404)
    assert "no meter named 'no-such-meter'" in missing["detail"]
    push = client.post("/v1/meters/no-such-meter/readings", json=[])
    assert "no meter named" in _problem(push, 404)["detail"]
    event = client.post("/v1/events/987654/label", json={"verdict": "real"})
    assert "no detection event 987654" in _problem(event, 404)["detail"]
    assert "/docs" in _problem(client.get("/v2/everything"), 404)["detail"]
    assert "not allowed" in _problem(client.put("/v1/meters"), 405)["detail"]


def test_a_meter_created_twice_is_a_409(client) -> None:
    """Creating a meter whose name exists is a conflict, and the first one is left as it was."""
    name = create_meter(client, site="first")
    again = _problem(client.post("/v1/meters", json={"name": name, "site": "second"}), 409)
    assert "exists already" in again["detail"]
    assert client.get(f"/v1/meters/{name}").json()["site"] == "first"


def test_too_few_readings_to_detect_is_a_422_saying_how_many(client) -> None:
    """Detection on a meter with a few readings says how many it has and how many it needs."""
    name = create_meter(client)
    rows = [{"timestamp": f"2024-01-01T{h:02d}:00:00", "value": 1.0} for h in range(5)]
    client.post(f"/v1/meters/{name}/readings", json=rows)
    detail = _problem(client.post(f"/v1/meters/{name}/detect", json={}), 422)["detail"]
    assert "has 5 readings" in detail and "at least 48" in detail


def test_a_reading_no_meter_could_send_is_a_422_naming_it(client) -> None:
    """1e300 in a series would overflow the detector's sums into nonsense events: refused by index,
    with our sentence (no "Value error," prefix) and the bound in the OpenAPI schema."""
    series = [
        {"timestamp": f"2024-01-{1 + h // 24:02d}T{h % 24:02d}:00:00Z", "value": 40.0 + h % 24}
        for h in range(24 * 7)
    ]
    series[100]["value"] = 1e300
    for route in ("/v1/detect/entire", "/v1/detect/last"):
        body = _problem(client.post(route, json={"series": series}), 422)
        assert body["errors"] == [
            {
                "field": "series[100].value",
                "message": "1e+300 is beyond ±1e+15, more than any meter reads: check the value "
                "and its unit (got '1e+300')",
                "row": None,
            }
        ]
    schema = client.get("/openapi.json").json()["components"]["schemas"]["Point"]
    assert schema["properties"]["value"]["maximum"] == 1e15
