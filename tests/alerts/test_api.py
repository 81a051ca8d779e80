"""The alerts routes on the real uvicorn server (tests/api fixtures): channels answered masked,
rules validated, silences, the log; and the server's database and log never hold a URL in clear."""

from __future__ import annotations

import sqlite3

import pytest

from tests.api.conftest import sqlite_api  # noqa: F401  (the session's server)
from tests.api.server import ApiServer

PASSWORD = "ApiS3cretPw"
TOKEN = "ApiT0kenZZ"


@pytest.fixture
def api(sqlite_api: ApiServer):  # noqa: F811
    with sqlite_api.client() as c:
        yield c


def test_channel_is_answered_masked_and_stored_sealed(api, sqlite_api, smtp):  # noqa: F811
    """POST a channel with a password: 201 masked; list masked; 409 twice; the test message goes out
    and is logged; the server's database and log hold neither password nor token."""
    url = f"json://u:{PASSWORD}@127.0.0.1:9/{TOKEN}"
    answer = api.post("/v1/channels", json={"name": "api-secret", "url": url})
    assert answer.status_code == 201, answer.text
    assert answer.json()["url"] == "json://***:***@127.0.0.1:9/***"
    assert api.post("/v1/channels", json={"name": "api-secret", "url": url}).status_code == 409
    assert api.post("/v1/channels", json={"name": "api-mail", "url": smtp.url}).status_code == 201
    tested = api.post("/v1/channels/api-mail/test").json()
    assert tested["status"] == "sent" and len(smtp.mailbox.messages) == 1
    failed = api.post("/v1/channels/api-secret/test").json()
    assert failed["status"] == "failed" and failed["reason"]
    listed = api.get("/v1/channels").text + api.get("/v1/notifications").text
    assert "api-secret" in listed
    con = sqlite3.connect(sqlite_api.db_url.removeprefix("sqlite:///"))
    dump = "\n".join(con.iterdump())
    con.close()
    for text in (listed, dump, sqlite_api.log.read_text(errors="replace")):
        assert PASSWORD not in text and TOKEN not in text


def test_rules_silences_and_errors(api):
    """Rules: 201, 409 on a second POST, PUT edits (disable), unknown channel or type -> 422 with one
    line; silences: create, list active, end; notifications filter by status."""
    assert (
        api.post("/v1/channels", json={"name": "r-hook", "url": "json://127.0.0.1:9/h"}).status_code
        == 201
    )
    body = {"name": "r1", "meters": "site:Campus", "channels": ["r-hook"], "types": ["spike"]}
    made = api.post("/v1/alert-rules", json=body)
    assert made.status_code == 201 and made.json()["selector"] == "site"
    assert api.post("/v1/alert-rules", json=body).status_code == 409
    edited = api.put("/v1/alert-rules/r1", json={**body, "enabled": False}).json()
    assert edited["enabled"] is False and api.get("/v1/alert-rules/r1").json()["enabled"] is False
    bad = api.post("/v1/alert-rules", json={**body, "name": "r2", "channels": ["nope"]})
    assert bad.status_code == 422 and "no channel named 'nope'" in bad.json()["detail"]
    bad = api.post("/v1/alert-rules", json={**body, "name": "r2", "types": ["boom"]})
    assert bad.status_code == 422 and "boom" in bad.json()["detail"]
    assert api.get("/v1/alert-rules/ghost").status_code == 404
    silence = api.post("/v1/silences", json={"meters": ["hall-7"], "until": "2h", "comment": "x"})
    assert silence.status_code == 201
    sid = silence.json()["id"]
    assert sid in [s["id"] for s in api.get("/v1/silences", params={"active": True}).json()]
    assert api.delete(f"/v1/silences/{sid}").status_code == 200
    assert sid not in [s["id"] for s in api.get("/v1/silences", params={"active": True}).json()]
    assert api.post("/v1/silences", json={"meters": "all", "until": "soon"}).status_code == 422
    rows = api.get("/v1/notifications", params={"status": "failed"}).json()
    assert all(r["status"] == "failed" for r in rows)
