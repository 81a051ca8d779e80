"""``--org ORG`` on ``python -m core meters`` and ``alerts``: an admin manages one organisation's
meters, channels, rules and silences from the command line; without it, the default organisation's
(never another's); an organisation the database lacks is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.__main__ import main
from core.store.alerts import SqlAlertRepository
from core.store.db import open_store
from core.store.meters import SqlMeterRepository
from tests.auth.helpers import PASSWORDS, cheap_hashing


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path))
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    monkeypatch.setenv("WATTSUP_PASSWORD", PASSWORDS["alice"])
    with cheap_hashing():
        assert main(["users", "create", "alice", "--role", "admin", "--org", "acme"]) == 0
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def listed(capsys, *argv: str) -> list[str]:
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return [row["name"] for row in json.loads(out)]


def refused(capsys, *argv: str, says: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "", (code, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err and says in err, err
    return err


def test_meters_with_org(home: Path, capsys) -> None:
    """A meter imported with --org acme is acme's: listed, exported and deleted with --org (before
    or after the action), invisible to and untouchable from the default organisation."""
    csv = home / "hall.csv"
    index = pd.date_range("2024-01-01", periods=48, freq="1h")
    pd.DataFrame({"timestamp": index, "value": range(48)}).to_csv(csv, index=False)
    code, out, err = run(capsys, "meters", "import", str(csv), "--meter", "hall", "--org", "acme")
    assert code == 0 and json.loads(out)["inserted"] == 48, err
    assert listed(capsys, "meters", "list") == []
    assert listed(capsys, "meters", "list", "--org", "acme") == ["hall"]
    assert listed(capsys, "meters", "--org", "acme", "list") == ["hall"]
    assert listed(capsys, "meters", "list", "--org", "default") == []
    refused(capsys, "meters", "export", "hall", says="hall")  # the default org has no such meter
    refused(capsys, "meters", "delete", "hall", says="hall")
    code, out, _ = run(capsys, "meters", "export", "hall", "--org", "acme")
    assert code == 0 and len(out.strip().splitlines()) == 49
    store = open_store()
    try:
        assert SqlMeterRepository(store).get("hall", owner="acme").readings == 48
    finally:
        store.close()
    code, out, _ = run(capsys, "meters", "delete", "hall", "--org", "acme")
    assert code == 0 and "48 readings" in out
    assert listed(capsys, "meters", "list", "--org", "acme") == []


def test_alerts_with_org(home: Path, capsys) -> None:
    """Channels, rules and silences made with --org acme are acme's rows; the default
    organisation's commands neither see nor change them."""
    url = "json://localhost:9/hook"
    assert run(capsys, "alerts", "channel", "add", "ops", url, "--org", "acme")[0] == 0
    assert listed(capsys, "alerts", "channel", "list") == []
    assert listed(capsys, "alerts", "--org", "acme", "channel", "list") == ["ops"]
    rule = ("alerts", "rule", "add", "big", "--meters", "all", "--channels", "ops")
    refused(capsys, *rule, says="no channel named 'ops'")  # the default org has none
    assert run(capsys, *rule, "--org", "acme")[0] == 0
    refused(capsys, "alerts", "rule", "disable", "big", says="big")
    code, out, _ = run(capsys, "alerts", "rule", "disable", "big", "--org", "acme")
    assert code == 0 and json.loads(out)["enabled"] is False
    silence = ("alerts", "silence", "add", "--meters", "all", "--until", "2h")
    assert run(capsys, *silence, "--org", "acme")[0] == 0
    assert json.loads(run(capsys, "alerts", "silence", "list")[1]) == []
    assert len(json.loads(run(capsys, "alerts", "silence", "list", "--org", "acme")[1])) == 1
    refused(capsys, "alerts", "channel", "delete", "ops", says="ops")
    store = open_store()
    try:
        repo = SqlAlertRepository(store)
        assert [c.name for c in repo.channels(owner="acme")] == ["ops"]
        assert [r.name for r in repo.rules(owner="acme")] == ["big"]
        assert repo.channels() == repo.rules() == repo.silences() == []
    finally:
        store.close()
    assert run(capsys, "alerts", "channel", "delete", "ops", "--org", "acme")[0] == 0


@pytest.mark.parametrize(
    "argv",
    [
        ("meters", "list", "--org", "globex"),
        ("meters", "--org", "globex", "list"),
        ("meters", "delete", "hall", "--org", "globex"),
        ("alerts", "rule", "list", "--org", "globex"),
        ("alerts", "--org", "globex", "log"),
        ("alerts", "channel", "add", "ops", "json://localhost:9/x", "--org", "globex"),
    ],
)
def test_unknown_org_is_one_line_exit_2(home: Path, capsys, argv) -> None:
    """An organisation this database lacks: one line naming it and the ones it has, exit 2, and
    nothing made (no organisation appears as a side effect)."""
    err = refused(capsys, *argv, says="--org globex: no such organisation")
    assert "acme" in err
    refused(capsys, "meters", "list", "--org", "Not A Slug!", says="is not a slug")
    assert listed(capsys, "alerts", "channel", "list", "--org", "acme") == []


def test_users_remove_from_one_org(home: Path, capsys) -> None:
    """``users remove NAME --org ORG`` takes the user out of that organisation only: its keys are
    revoked, the other organisation's stay; a second time it is one line and exit 2."""
    assert run(capsys, "users", "grant", "alice", "--org", "globex", "--role", "viewer")[0] == 0
    for org in ("acme", "globex"):
        assert run(capsys, "apikey", "create", "--user", "alice", "--org", org)[0] == 0
    code, out, err = run(capsys, "users", "remove", "alice", "--org", "acme")
    assert code == 0 and "revoked 1 API key" in out, err
    (alice,) = json.loads(run(capsys, "users", "list")[1])
    assert alice["roles"] == {"globex": "viewer"}
    keys = json.loads(run(capsys, "apikey", "list")[1])
    assert {k["org"]: k["revoked"] is not None for k in keys} == {"acme": True, "globex": False}
    refused(capsys, "users", "remove", "alice", "--org", "acme", says="not a member of 'acme'")
