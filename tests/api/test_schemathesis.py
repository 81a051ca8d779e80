"""A bounded property-based run of schemathesis against the app's own OpenAPI schema, on the real
server: no generated input gives a 5xx, and every answer has a documented status, content type and
body. The schema's examples name a meter (``hall-7``) that exists, so paths past the 404s run too."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from core.api.app import create_app
from tests.api.conftest import anomalous, push

# the readings route also reads NDJSON and CSV bodies, documented as text: sent as text is
schemathesis.serializer.alias(["application/x-ndjson", "text/csv"], "text/plain")
schema = schemathesis.openapi.from_dict(create_app().openapi())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLE_METER = "hall-7"


@pytest.fixture(scope="module")
def example_meter(sqlite_api):
    """The meter the schema's examples name, with three days of readings and one run."""
    with sqlite_api.client() as client:
        if client.get(f"/v1/meters/{EXAMPLE_METER}").status_code == 404:
            client.post("/v1/meters", json={"name": EXAMPLE_METER, "unit": "kWh", "step": "1h"})
        push(client, EXAMPLE_METER, anomalous().iloc[:72])
        client.post(f"/v1/meters/{EXAMPLE_METER}/detect", json={"detector": "rolling_z"})
    return sqlite_api


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_input_breaks_the_api(case, example_meter) -> None:
    """Generated requests to this operation get a documented, schema-conforming, non-5xx answer."""
    case.call_and_validate(base_url=example_meter.url, checks=CHECKS, timeout=120)
