"""One call per alerts route for ``tests/api/test_routes.py`` (every route must have a case there)."""

from __future__ import annotations

import uuid

import httpx

DEAD_HOOK = "json://127.0.0.1:9/hook"  # the discard port: nothing listens, the send fails at once


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def channel(c: httpx.Client) -> str:
    name = _name("ch")
    assert c.post("/v1/channels", json={"name": name, "url": DEAD_HOOK}).status_code == 201
    return name


def rule(c: httpx.Client) -> str:
    name = _name("rule")
    body = {"name": name, "channels": [channel(c)], "min_score": 3}
    assert c.post("/v1/alert-rules", json=body).status_code == 201
    return name


def silence(c: httpx.Client) -> int:
    return c.post("/v1/silences", json={"meters": "all", "until": "1h"}).json()["id"]


ALERT_CASES = {
    ("GET", "/v1/channels"): lambda c, s: c.get("/v1/channels"),
    ("POST", "/v1/channels"): lambda c, s: c.post(
        "/v1/channels", json={"name": _name("ch"), "url": DEAD_HOOK}
    ),
    ("DELETE", "/v1/channels/{name}"): lambda c, s: c.delete(f"/v1/channels/{channel(c)}"),
    ("POST", "/v1/channels/{name}/test"): lambda c, s: c.post(f"/v1/channels/{channel(c)}/test"),
    ("GET", "/v1/alert-rules"): lambda c, s: c.get("/v1/alert-rules"),
    ("POST", "/v1/alert-rules"): lambda c, s: c.post(
        "/v1/alert-rules", json={"name": _name("rule"), "channels": [channel(c)]}
    ),
    ("GET", "/v1/alert-rules/{name}"): lambda c, s: c.get(f"/v1/alert-rules/{rule(c)}"),
    ("PUT", "/v1/alert-rules/{name}"): lambda c, s: (
        lambda n: c.put(
            f"/v1/alert-rules/{n}", json={"name": n, "channels": [channel(c)], "enabled": False}
        )
    )(_name("rule")),
    ("DELETE", "/v1/alert-rules/{name}"): lambda c, s: c.delete(f"/v1/alert-rules/{rule(c)}"),
    ("GET", "/v1/silences"): lambda c, s: c.get("/v1/silences", params={"active": True}),
    ("POST", "/v1/silences"): lambda c, s: c.post(
        "/v1/silences", json={"meters": [s.meter], "until": "2h", "comment": "route test"}
    ),
    ("DELETE", "/v1/silences/{silence_id}"): lambda c, s: c.delete(f"/v1/silences/{silence(c)}"),
    ("GET", "/v1/notifications"): lambda c, s: c.get("/v1/notifications", params={"limit": 5}),
}
