"""Every route of the app's OpenAPI schema has a case here that calls it on the real server and
checks its answer against the schema the route documents: a new route without a case fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from jsonschema import Draft202012Validator

from core.api.app import create_app
from tests.alerts.api_cases import ALERT_CASES
from tests.api.conftest import anomalous, create_meter, new_name, push

APP = create_app()
SCHEMA = APP.openapi()
OPERATIONS = sorted((m.upper(), p) for p, ops in SCHEMA["paths"].items() for m in ops)


@dataclass
class Seeded:
    """A meter with six weeks of readings, one detection run and its first event."""

    meter: str
    run_id: int
    event_id: int


@pytest.fixture(scope="module")
def seeded(sqlite_api) -> Seeded:
    with sqlite_api.client() as client:
        name = create_meter(client)
        push(client, name, anomalous(), batch=5_000)
        answer = client.post(f"/v1/meters/{name}/detect", json={"detector": "rolling_z"}).json()
    return Seeded(name, answer["run"]["id"], answer["events"][0]["id"])


def _series() -> list[dict]:
    frame = anomalous().iloc[:200]
    return [
        {"timestamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "value": v}
        for t, v in zip(frame.index, frame["value"], strict=True)
    ]


def _fresh(client: httpx.Client) -> str:
    return create_meter(client, new_name("route"))


Case = Callable[[httpx.Client, Seeded], httpx.Response]
CASES: dict[tuple[str, str], Case] = {
    ("GET", "/healthz"): lambda c, s: c.get("/healthz"),
    ("GET", "/v1/meters"): lambda c, s: c.get("/v1/meters"),
    ("POST", "/v1/meters"): lambda c, s: c.post(
        "/v1/meters", json={"name": new_name(), "unit": "kW", "covariates": ["temperature"]}
    ),
    ("GET", "/v1/meters/{meter}"): lambda c, s: c.get(f"/v1/meters/{s.meter}"),
    ("DELETE", "/v1/meters/{meter}"): lambda c, s: c.delete(f"/v1/meters/{_fresh(c)}"),
    ("POST", "/v1/meters/{meter}/readings"): lambda c, s: c.post(
        f"/v1/meters/{_fresh(c)}/readings", json=[{"timestamp": "2024-01-01T00:00", "value": 1}]
    ),
    ("GET", "/v1/meters/{meter}/readings"): lambda c, s: c.get(
        f"/v1/meters/{s.meter}/readings", params={"step": "1D", "limit": 3}
    ),
    ("POST", "/v1/meters/{meter}/detect"): lambda c, s: c.post(
        f"/v1/meters/{s.meter}/detect", json={"detector": "rolling_z", "threshold": {"k": 3}}
    ),
    ("GET", "/v1/meters/{meter}/runs"): lambda c, s: c.get(f"/v1/meters/{s.meter}/runs"),
    ("GET", "/v1/meters/{meter}/runs/{run_id}"): lambda c, s: c.get(
        f"/v1/meters/{s.meter}/runs/{s.run_id}"
    ),
    ("GET", "/v1/meters/{meter}/events"): lambda c, s: c.get(
        f"/v1/meters/{s.meter}/events", params={"run": s.run_id}
    ),
    ("POST", "/v1/events/{event_id}/label"): lambda c, s: c.post(
        f"/v1/events/{s.event_id}/label", json={"verdict": "real", "note": "route test"}
    ),
    ("POST", "/v1/meters/{meter}/labels"): lambda c, s: c.post(
        f"/v1/meters/{s.meter}/labels",
        json={"start": "2023-01-05T00:00", "end": "2023-01-05T03:00", "verdict": "not_anomaly"},
    ),
    ("GET", "/v1/meters/{meter}/labels"): lambda c, s: c.get(f"/v1/meters/{s.meter}/labels"),
    ("GET", "/v1/meters/{meter}/forecast"): lambda c, s: c.get(
        f"/v1/meters/{s.meter}/forecast", params={"horizon": 3}
    ),
    ("POST", "/v1/detect/entire"): lambda c, s: c.post(
        "/v1/detect/entire", json={"series": _series(), "granularity": "hourly"}
    ),
    ("POST", "/v1/detect/last"): lambda c, s: c.post(
        "/v1/detect/last", json={"series": _series(), "sensitivity": 80}
    ),
}
CASES.update(ALERT_CASES)  # the alerts routes (tests/alerts/api_cases.py)


def test_every_route_has_a_case() -> None:
    """The cases cover exactly the routes the OpenAPI schema lists (17 today)."""
    assert sorted(CASES) == OPERATIONS
    assert len(OPERATIONS) >= 17


@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_route_answers_its_documented_schema(operation, seeded, client) -> None:
    """The route answers 2xx on the real server with a body its OpenAPI response schema accepts."""
    method, path = operation
    response = CASES[operation](client, seeded)
    assert 200 <= response.status_code < 300, response.text
    documented = SCHEMA["paths"][path][method.lower()]["responses"][str(response.status_code)]
    schema = documented["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": SCHEMA["components"]})
    assert not list(validator.iter_errors(response.json()))


@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_route_documents_an_example(operation) -> None:
    """The route's request body (if any) and its success answer carry an example in OpenAPI."""
    method, path = operation
    op = SCHEMA["paths"][path][method.lower()]
    if "requestBody" in op:
        for media in op["requestBody"]["content"].values():
            assert _has_example(media), f"{method} {path} request {media}"
    ok = next(r for s, r in op["responses"].items() if s.startswith("2"))
    assert all(_has_example(media) for media in ok["content"].values()), f"{method} {path}"
    assert op.get("summary") and op.get("description"), "a docstring says what the route does"


def _has_example(media: dict) -> bool:
    if "example" in media or "examples" in media:
        return True
    schema = media.get("schema", {})
    if "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    elif schema.get("type") == "array" and "$ref" in schema.get("items", {}):
        ref = schema["items"]["$ref"].rsplit("/", 1)[-1]
        schema = SCHEMA["components"]["schemas"][ref]
    return bool(schema.get("examples"))


def test_openapi_and_docs_are_served(client) -> None:
    """The running server serves the same OpenAPI schema and the Swagger page at /docs."""
    served = client.get("/openapi.json").json()
    assert sorted(served["paths"]) == sorted(SCHEMA["paths"])
    assert "swagger" in client.get("/docs").text.lower()
    errors = served["paths"]["/v1/meters/{meter}"]["get"]["responses"]["404"]["content"]
    assert list(errors) == ["application/problem+json"]
