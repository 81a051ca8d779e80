"""API keys on a real server: the workspace until a user exists, then 401 / 403, and another
organisation's meter answering exactly like a missing one on every route that names a meter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core.api.app import create_app
from core.auth import accounts, apikeys
from core.store.db import Store, open_store
from core.store.users import SqlUserRepository
from tests.api.conftest import anomalous, create_meter, hourly, push
from tests.api.server import ApiServer, api_server
from tests.auth.helpers import PASSWORDS, cheap_hashing
from tests.conftest import REPO

SCHEMA = create_app().openapi()
OPERATIONS = sorted((m.upper(), p) for p, ops in SCHEMA["paths"].items() for m in ops)
OWNED = re.compile(r"\{(meter|run_id|event_id)\}")  # path parameters that name owned rows
STATELESS = {("POST", "/v1/detect/entire"), ("POST", "/v1/detect/last")}  # store nothing
MISSING = "no-such-meter-x"
MISSING_ID = 2**31 - 1


@dataclass
class World:
    server: ApiServer
    store: Store
    repo: SqlUserRepository
    keys: dict[str, str]
    meter: str  # acme's meter, with readings, a run and events
    run_id: int
    event_id: int
    readings: int
    before_users: int  # GET /v1/meters before any user existed

    def client(self, who: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return self.server.client(headers=headers)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("api-auth")
    url = f"sqlite:///{root / 'wattsup.db'}"
    with api_server(url, root, "sqlite") as server, cheap_hashing():
        with server.client() as c:
            before = c.get("/v1/meters").status_code
            create_meter(c, "workspace-meter")  # owner NULL: the default organisation's
        store = open_store(url, home=server.home)
        repo = SqlUserRepository(store)
        people = [
            ("alice", "admin", "acme"),
            ("vic", "viewer", "acme"),
            ("bob", "analyst", "globex"),
            ("dave", "admin", "default"),
        ]
        keys = {}
        for name, role, org in people:
            accounts.create_user(repo, name, PASSWORDS[name], role=role, org=org)
            scope = "read" if role == "viewer" else "write"
            keys[name], _ = apikeys.create_key(repo, user=name, scope=scope)
        world = World(server, store, repo, keys, "secret-a", 0, 0, 0, before)
        with world.client("alice") as a:
            create_meter(a, world.meter)
            frame = anomalous()
            push(a, world.meter, frame, batch=5_000)
            answer = a.post(f"/v1/meters/{world.meter}/detect", json={"detector": "rolling_z"})
            assert answer.status_code == 200, answer.text
        world.run_id = answer.json()["run"]["id"]
        world.event_id = answer.json()["events"][0]["id"]
        world.readings = len(frame)
        try:
            yield world
        finally:
            store.close()


def test_workspace_until_a_user_exists_then_a_key(world: World) -> None:
    """No users: answered as the workspace. Users: 401 without a key, with a made-up one too."""
    assert world.before_users == 200
    with world.client(None) as anon:
        answer = anon.get("/v1/meters")
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.headers["content-type"].startswith("application/problem+json")
        forged = anon.get("/v1/meters", headers={"Authorization": "Bearer wu_" + "A" * 43})
        assert forged.status_code == 401
        assert anon.get("/healthz").status_code == 200  # load balancers need no key
        via_header = anon.get("/v1/meters", headers={"X-API-Key": world.keys["alice"]})
        assert via_header.status_code == 200


def test_each_org_lists_only_its_meters(world: World) -> None:
    """acme sees its meter, default sees the meters saved before users existed, globex neither."""
    listed = {}
    for who in ("alice", "vic", "bob", "dave"):
        with world.client(who) as c:
            listed[who] = {m["name"] for m in c.get("/v1/meters").json()}
    assert listed["alice"] == listed["vic"] == {world.meter}
    assert listed["dave"] == {"workspace-meter"}
    assert listed["bob"] == set()


Case = Callable[[httpx.Client, str, int, int], httpx.Response]
# (meter, run id, event id) -> the request; run against acme's meter and against a missing one
CASES: dict[tuple[str, str], Case] = {
    ("GET", "/v1/meters/{meter}"): lambda c, m, r, e: c.get(f"/v1/meters/{m}"),
    ("DELETE", "/v1/meters/{meter}"): lambda c, m, r, e: c.delete(f"/v1/meters/{m}"),
    ("POST", "/v1/meters/{meter}/readings"): lambda c, m, r, e: c.post(
        f"/v1/meters/{m}/readings", json=[{"timestamp": "2023-01-02T00:00", "value": 1e6}]
    ),
    ("GET", "/v1/meters/{meter}/readings"): lambda c, m, r, e: c.get(f"/v1/meters/{m}/readings"),
    ("POST", "/v1/meters/{meter}/detect"): lambda c, m, r, e: c.post(
        f"/v1/meters/{m}/detect", json={"detector": "rolling_z"}
    ),
    ("GET", "/v1/meters/{meter}/runs"): lambda c, m, r, e: c.get(f"/v1/meters/{m}/runs"),
    ("GET", "/v1/meters/{meter}/runs/{run_id}"): lambda c, m, r, e: c.get(
        f"/v1/meters/{m}/runs/{r}"
    ),
    ("GET", "/v1/meters/{meter}/events"): lambda c, m, r, e: c.get(f"/v1/meters/{m}/events"),
    ("POST", "/v1/events/{event_id}/label"): lambda c, m, r, e: c.post(
        f"/v1/events/{e}/label", json={"verdict": "not_anomaly", "note": "bob was here"}
    ),
    ("POST", "/v1/meters/{meter}/labels"): lambda c, m, r, e: c.post(
        f"/v1/meters/{m}/labels",
        json={"start": "2023-01-05T00:00", "end": "2023-01-05T03:00", "verdict": "real"},
    ),
    ("GET", "/v1/meters/{meter}/labels"): lambda c, m, r, e: c.get(f"/v1/meters/{m}/labels"),
    ("GET", "/v1/meters/{meter}/forecast"): lambda c, m, r, e: c.get(
        f"/v1/meters/{m}/forecast", params={"horizon": 3}
    ),
}
OWNED_OPS = sorted(op for op in OPERATIONS if OWNED.search(op[1]))
WRITES = sorted(op for op in OPERATIONS if op[0] != "GET" and op not in STATELESS)


def test_every_route_naming_owned_rows_has_a_case() -> None:
    """A new route with a meter, run or event in its path fails here until it has a case."""
    assert sorted(CASES) == OWNED_OPS
    assert len(OWNED_OPS) >= 12


def test_openapi_documents_the_key_and_its_answers() -> None:
    """securitySchemes: Bearer and X-API-Key; every /v1 operation takes either and documents 401
    (problem+json, with WWW-Authenticate); exactly the routes a viewer key is refused on (the
    test below) document 403; /healthz needs no key."""
    schemes = SCHEMA["components"]["securitySchemes"]
    assert schemes["bearer"]["type"] == "http" and schemes["bearer"]["scheme"] == "bearer"
    assert {k: schemes["apiKey"][k] for k in ("type", "in", "name")} == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for method, path in OPERATIONS:
        operation = SCHEMA["paths"][path][method.lower()]
        answers = operation["responses"]
        if not path.startswith("/v1/"):
            assert "security" not in operation and "401" not in answers, path
            continue
        assert operation["security"] == [{"bearer": []}, {"apiKey": []}], (method, path)
        assert answers["401"]["content"] == problem
        assert "WWW-Authenticate" in answers["401"]["headers"]
        assert ("403" in answers) == ((method, path) in WRITES), (method, path)
        if "403" in answers:
            assert answers["403"]["content"] == problem


def _text(response: httpx.Response, *names: str | int) -> str:
    """The body with the names and ids asked for replaced by one placeholder."""
    text = response.text
    for name in names:
        text = re.sub(rf"(?<![\w-]){re.escape(str(name))}(?![\w-])", "<X>", text)
    return text


@pytest.mark.parametrize("operation", OWNED_OPS, ids=[f"{m} {p}" for m, p in OWNED_OPS])
def test_other_orgs_meter_is_answered_like_a_missing_one(world: World, operation) -> None:
    """bob (globex, analyst) asking for acme's meter, run or event by name or guessed id gets the
    very answer he gets for one that does not exist: 404, same body."""
    case = CASES[operation]
    with world.client("bob") as bob:
        theirs = case(bob, world.meter, world.run_id, world.event_id)
        missing = case(bob, MISSING, MISSING_ID, MISSING_ID)
        # the default organisation's meter (owner NULL): a route that forgot the owner finds it
        default = case(bob, "workspace-meter", MISSING_ID, MISSING_ID)
    assert theirs.status_code == missing.status_code == default.status_code == 404, theirs.text
    expected = _text(missing, MISSING, MISSING_ID, MISSING_ID)
    assert _text(theirs, world.meter, world.run_id, world.event_id) == expected
    assert _text(default, "workspace-meter", MISSING_ID) == expected
    for other in (world.meter, "workspace-meter"):  # a missing-meter answer lists bob's only
        assert other not in missing.text


def test_acme_meter_untouched_by_globex(world: World) -> None:
    """After every attempt of bob's, acme's meter has all its readings, its run and no labels."""
    with world.client("alice") as a:
        meter = a.get(f"/v1/meters/{world.meter}")
        assert meter.status_code == 200
        assert meter.json()["readings"] == world.readings
        labels = a.get(f"/v1/meters/{world.meter}/labels").json()["labels"]
        assert not [x for x in labels if x["author"] == "bob" or x["note"] == "bob was here"]
        run = a.get(f"/v1/meters/{world.meter}/runs/{world.run_id}")
        assert run.status_code == 200


def test_same_name_in_two_orgs_is_two_meters(world: World) -> None:
    """globex may make its own meter of the same name; acme's stays as it was."""
    with world.client("bob") as bob:
        create_meter(bob, world.meter)
        push(bob, world.meter, hourly(2))
        assert bob.get(f"/v1/meters/{world.meter}").json()["readings"] == 48
        assert bob.delete(f"/v1/meters/{world.meter}").status_code == 200
    with world.client("alice") as a:
        assert a.get(f"/v1/meters/{world.meter}").json()["readings"] == world.readings


@pytest.mark.parametrize("operation", WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_viewer_key_is_refused_on_every_write_route(world: World, operation) -> None:
    """vic (viewer in acme) reads acme's meter but gets 403 on every route that changes data."""
    with world.client("vic") as vic:
        assert vic.get(f"/v1/meters/{world.meter}").status_code == 200
        method, path = operation
        url = path.replace("{meter}", world.meter).replace("{event_id}", str(world.event_id))
        url = re.sub(r"\{[a-z_]*_id\}", "1", url)  # other ids and names: any value, 403 first
        url = re.sub(r"\{[a-z_]+\}", "x", url)
        body = {"name": "vic-made"} if path == "/v1/meters" else {}
        answer = vic.request(method, url, json=body)
    assert answer.status_code == 403, answer.text
    assert "write scope" in answer.json()["detail"]


def test_revoked_key_and_removed_user_get_401_at_once(world: World) -> None:
    """A revoked key, and every key of a removed user, fail on the very next request."""
    key, stored = apikeys.create_key(world.repo, user="alice", scope="read")
    headers = {"Authorization": f"Bearer {key}"}
    with world.server.client(headers=headers) as c:
        assert c.get("/v1/meters").status_code == 200
        assert apikeys.revoke_key(world.repo, stored.prefix) == 1
        assert c.get("/v1/meters").status_code == 401
    with cheap_hashing():
        accounts.create_user(world.repo, "temp", PASSWORDS["temp"], role="analyst", org="acme")
    temp_key, _ = apikeys.create_key(world.repo, user="temp", scope="write")
    with world.server.client(headers={"Authorization": f"Bearer {temp_key}"}) as c:
        assert c.get(f"/v1/meters/{world.meter}").status_code == 200
        env = {
            **os.environ,
            "WATTSUP_DATABASE_URL": world.server.db_url,
            "WATTSUP_HOME": str(world.server.home),
        }
        done = subprocess.run(
            [sys.executable, "-m", "core", "users", "remove", "temp"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "1 API key" in done.stdout
        assert c.get(f"/v1/meters/{world.meter}").status_code == 401


def test_key_never_does_more_than_its_users_role_now(world: World) -> None:
    """A write key of an analyst only reads once the analyst is made a viewer."""
    with cheap_hashing():
        accounts.create_user(world.repo, "ana", PASSWORDS["ana"], role="analyst", org="acme")
    key, _ = apikeys.create_key(world.repo, user="ana", scope="write")
    with world.server.client(headers={"Authorization": f"Bearer {key}"}) as c:
        label = {"start": "2023-01-06T00:00", "end": "2023-01-06T01:00", "verdict": "expected"}
        assert c.post(f"/v1/meters/{world.meter}/labels", json=label).status_code == 201
        world.repo.grant("ana", "acme", "viewer")
        assert c.post(f"/v1/meters/{world.meter}/labels", json=label).status_code == 403
        assert c.get(f"/v1/meters/{world.meter}/labels").status_code == 200


def test_label_author_is_the_keys_user(world: World) -> None:
    """With a key, a label is by the key's user: no author -> theirs, their own name -> fine,
    anyone else's -> 422 naming the field, and nothing stored."""
    event = f"/v1/events/{world.event_id}/label"
    span = f"/v1/meters/{world.meter}/labels"
    window = {"start": "2023-01-07T00:00", "end": "2023-01-07T02:00"}
    with world.client("alice") as a:
        for path, extra in ((event, {}), (span, window)):
            for author in (None, "alice", " alice "):
                body = {"verdict": "real", "note": "author-ok", **extra}
                answer = a.post(path, json=body | ({"author": author} if author else {}))
                assert answer.status_code == 201, answer.text
                assert answer.json()["author"] == "alice"
            for forged in ("vic", "ALICE", ""):
                body = {"verdict": "real", "note": "author-forged", "author": forged, **extra}
                answer = a.post(path, json=body)
                assert answer.status_code == 422, answer.text
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert [e["field"] for e in answer.json()["errors"]] == ["author"]
                assert "key's user" in answer.json()["detail"]
        labels = a.get(span).json()["labels"]
    assert not [x for x in labels if x["note"] == "author-forged"]
    assert {x["author"] for x in labels if x["note"] == "author-ok"} == {"alice"}


def test_no_password_or_key_in_database_or_log(world: World) -> None:
    """The raw database files and the server log hold no password and no whole API key."""
    db = world.server.db_url.removeprefix("sqlite:///")
    raw = b"".join(Path(p).read_bytes() for p in (db, db + "-wal") if os.path.exists(p))
    assert b"argon2id" in raw  # the hashes are there, so the files are the right ones
    log = world.server.log.read_bytes()
    for secret in [*PASSWORDS.values(), *world.keys.values()]:
        assert secret.encode() not in raw
        assert secret.encode() not in log
    for key in world.keys.values():
        assert key[: apikeys.PREFIX_CHARS].encode() in raw  # the prefix is, for listing


CHANNEL_ROUTES = (
    ("POST", "/v1/channels"),
    ("DELETE", "/v1/channels/x"),
    ("POST", "/v1/channels/x/test"),
)


def test_only_an_admins_key_manages_alert_channels(world: World) -> None:
    """A channel holds a secret (an SMTP password, a webhook token): an analyst's write key reads
    the masked list and writes rules, but adding, removing or testing a channel is 403, as on the
    Alerts page; the org's admin does all three."""
    with cheap_hashing():
        accounts.create_user(world.repo, "carl", PASSWORDS["carl"], role="analyst", org="acme")
    key, _ = apikeys.create_key(world.repo, user="carl", scope="write")
    hook = {"name": "ops-hook", "url": "json://127.0.0.1:9/hook"}
    with world.server.client(headers={"Authorization": f"Bearer {key}"}) as carl:
        for method, path in CHANNEL_ROUTES:
            answer = carl.request(method, path, json=hook if method == "POST" else None)
            assert answer.status_code == 403, (method, path, answer.text)
            assert "admin" in answer.json()["detail"]
        assert carl.get("/v1/channels").status_code == 200
    with world.client("alice") as alice:
        assert alice.post("/v1/channels", json=hook).status_code == 201
        tested = alice.post("/v1/channels/ops-hook/test")
        assert tested.status_code == 200 and tested.json()["status"] == "failed"  # nobody on :9
        assert alice.delete("/v1/channels/ops-hook").status_code == 200
    schema = create_app().openapi()["paths"]["/v1/channels"]["post"]["responses"]
    assert "admin" in schema["403"]["description"]
