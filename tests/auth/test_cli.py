"""``python -m core users`` and ``apikey``: made, listed, removed, revoked; one-line errors with
exit 2; the password and the key never printed (the key once, at creation)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.__main__ import main
from core.auth import apikeys
from core.store.db import open_store
from core.store.users import SqlUserRepository
from tests.auth.helpers import PASSWORDS, cheap_hashing


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path))
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    monkeypatch.setenv("WATTSUP_PASSWORD", PASSWORDS["alice"])
    with cheap_hashing():
        yield tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_users_and_keys_round_trip(home, capsys) -> None:
    """Create an admin, list, make a key without --user (the default org's first admin), list and
    revoke it by prefix; nothing printed holds the password, the key appears once."""
    assert run(capsys, "users", "create", "alice", "--role", "admin")[0] == 0
    code, out, err = run(capsys, "users", "list")
    assert code == 0
    assert json.loads(out) == [
        {
            **json.loads(out)[0],
            "name": "alice",
            "roles": {"default": "admin"},
            "sign_in": "password",
        }
    ]
    code, out, err = run(capsys, "apikey", "create", "--scope", "write")
    key = out.strip()
    assert code == 0 and apikeys.looks_like_key(key) and "alice" in err
    code, out, _ = run(capsys, "apikey", "list")
    (listed,) = json.loads(out)
    assert listed["prefix"] == key[: apikeys.PREFIX_CHARS] and key not in out
    assert listed["user"] == "alice" and listed["scope"] == "write" and listed["revoked"] is None
    assert run(capsys, "apikey", "revoke", listed["prefix"])[0] == 0
    assert json.loads(run(capsys, "apikey", "list")[1])[0]["revoked"] is not None
    assert run(capsys, "apikey", "revoke", key)[0] == 2  # already revoked: no valid key matches
    code, out, err = run(capsys, "users", "remove", "alice")
    assert code == 0 and "1 API key" in out
    assert PASSWORDS["alice"] not in out + err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["users", "remove", "ghost"], "no user named 'ghost'"),
        (["users", "create", "x", "--org", "Bad Org"], "is not a slug"),
        (["apikey", "create"], "no admin in the default organisation"),
        (["apikey", "create", "--user", "ghost"], "no user named 'ghost'"),
        (["apikey", "revoke", "nonsense"], "give the whole key"),
        (["users", "unlock", "ghost"], "no user named 'ghost'"),
    ],
)
def test_errors_are_one_line_exit_2(home, capsys, argv, message) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and err.count("\n") == 1 and err.startswith("error: ")


def test_viewer_gets_read_keys_only_and_orgs_are_kept_apart(home, capsys) -> None:
    """A viewer's write key is refused; a user's key belongs to their organisation."""
    run(capsys, "users", "create", "vic", "--role", "viewer", "--org", "acme")
    code, _, err = run(capsys, "apikey", "create", "--user", "vic", "--scope", "write")
    assert code == 2 and "can only read" in err
    code, out, _ = run(capsys, "apikey", "create", "--user", "vic")
    store = open_store()
    try:
        access = apikeys.authorise(SqlUserRepository(store), out.strip())
    finally:
        store.close()
    assert (access.owner, access.user, access.scopes) == ("acme", "vic", frozenset({"read"}))


def test_password_from_env_or_refused_without_terminal(home, capsys, monkeypatch) -> None:
    """Without WATTSUP_PASSWORD and no terminal the command says how to give one."""
    monkeypatch.delenv("WATTSUP_PASSWORD")
    code, _, err = run(capsys, "users", "create", "bob")
    assert code == 2 and "WATTSUP_PASSWORD" in err
    assert run(capsys, "users", "create", "ida@example.com", "--oidc")[0] == 0
    listed = json.loads(run(capsys, "users", "list")[1])
    assert [u["sign_in"] for u in listed] == ["identity provider"]


def test_password_prompted_twice_at_a_terminal(home, capsys, monkeypatch) -> None:
    """At a terminal the password is asked twice (getpass: never echoed); two that differ stop."""
    import getpass
    import sys

    monkeypatch.delenv("WATTSUP_PASSWORD")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    answers = iter([PASSWORDS["bob"], PASSWORDS["bob"] + "x"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    code, _, err = run(capsys, "users", "create", "bob")
    assert code == 2 and "differ" in err
    answers = iter([PASSWORDS["bob"]] * 2)
    code, out, err = run(capsys, "users", "create", "bob", "--role", "analyst", "--org", "acme")
    assert code == 0 and PASSWORDS["bob"] not in out + err
