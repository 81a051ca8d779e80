"""Signing in: one answer for a wrong name or password, the slow-down, the lock-out after 50
wrong passwords (the right one fails during it), sessions that expire, passwords kept nowhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from core.auth import accounts, passwords, signin
from core.auth.passwords import PasswordRejected
from core.auth.signin import LOCK_AFTER, LOCK_FOR, SignInError, authenticate
from core.store.users import SqlUserRepository
from tests.auth.helpers import PASSWORDS

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PW = PASSWORDS["eve"]


@pytest.fixture
def eve(repo: SqlUserRepository):
    return accounts.create_user(repo, "eve", PW, role="analyst", org="acme")


def test_wrong_password_and_unknown_user_answer_alike(repo, eve) -> None:
    """Neither answer says whether the name exists; neither contains what was typed."""
    with pytest.raises(SignInError) as wrong:
        authenticate(repo, "eve", "not-her-password", now=T0)
    with pytest.raises(SignInError) as unknown:
        authenticate(repo, "nobody", "not-her-password", now=T0)
    assert str(wrong.value) == str(unknown.value) == signin.WRONG
    assert "not-her-password" not in repr(wrong.value) + repr(unknown.value)
    assert authenticate(repo, " eve ", PW, now=T0).name == "eve"


def test_slow_down_refuses_unchecked_until_the_wait_is_over(repo, eve) -> None:
    """After 5 wrong passwords the next attempt, even the right one, waits; then it works and
    the failures are forgotten."""
    for i in range(signin.FREE_FAILURES):
        with pytest.raises(SignInError):
            authenticate(repo, "eve", f"wrong-{i}", now=T0)
    wait = timedelta(seconds=signin.delay(signin.FREE_FAILURES))
    with pytest.raises(SignInError) as waiting:
        authenticate(repo, "eve", PW, now=T0 + wait - timedelta(milliseconds=1))
    assert str(waiting.value) == signin.WRONG
    assert repo.get("eve").failed_logins == signin.FREE_FAILURES  # refused unchecked: not counted
    assert authenticate(repo, "eve", PW, now=T0 + wait).name == "eve"
    assert repo.get("eve").failed_logins == 0


def test_fifty_wrong_passwords_lock_the_account(any_repo) -> None:
    """A brute-force loop of 50 wrong passwords (waiting out each slow-down) ends in a lock-out;
    the right password then fails until the lock ends."""
    repo = any_repo
    accounts.create_user(repo, "eve", PW, role="analyst", org="acme")
    now = T0
    for i in range(LOCK_AFTER):
        with pytest.raises(SignInError) as err:
            authenticate(repo, "eve", f"guess-{i:03d}", now=now)
        assert str(err.value) == signin.WRONG
        assert (repo.get("eve").locked_until is None) == (i < LOCK_AFTER - 1)
        now += timedelta(seconds=signin.delay(i + 1) + 0.001)
    user = repo.get("eve")
    last_guess = now - timedelta(seconds=signin.delay(LOCK_AFTER) + 0.001)
    assert user.failed_logins == LOCK_AFTER and user.locked_until == last_guess + LOCK_FOR
    with pytest.raises(SignInError, match="wrong user name or password"):
        authenticate(repo, "eve", PW, now=now)
    with pytest.raises(SignInError, match="wrong user name or password"):
        authenticate(repo, "eve", PW, now=user.locked_until - timedelta(seconds=1))
    assert authenticate(repo, "eve", PW, now=user.locked_until + timedelta(seconds=1))
    assert repo.get("eve").locked_until is None


def test_known_and_unknown_names_get_the_same_answers_at_every_step(repo, eve, monkeypatch) -> None:
    """An attacker trying names learns nothing: at every attempt of a run that goes through the
    slow-down (hammering without waiting), then waits each one out into the lock-out and tries the
    right password during it, a known name and an unknown one get the same exception (type, text,
    attributes) after the same single argon2 check."""
    checks: list[str | None] = []
    real = passwords.verify_password

    def counted(stored, password):
        checks.append(stored)
        return real(stored, password)

    monkeypatch.setattr(passwords, "verify_password", counted)

    def answer(name: str, password: str, now: datetime) -> tuple:
        checks.clear()
        with pytest.raises(SignInError) as err:
            authenticate(repo, name, password, now=now)
        return type(err.value), str(err.value), err.value.args, vars(err.value), len(checks)

    now, steps = T0, []
    for i in range(signin.FREE_FAILURES + 4):  # no waiting: the slow-down refuses, unchecked
        steps.append((now, f"fast-{i}"))
    for i in range(LOCK_AFTER):  # each slow-down waited out: every guess counts, up to the lock
        now += timedelta(seconds=signin.MAX_DELAY_S + 1)
        steps.append((now, f"slow-{i}"))
    steps += [(now + timedelta(seconds=s), PW) for s in (1, 60, 600)]  # the right one, locked
    for now, password in steps:
        known, unknown = answer("eve", password, now), answer("nobody", password, now)
        assert known == unknown, (now, password)
        assert known[1] == signin.WRONG and known[4] == 1
    assert repo.get("eve").locked_until is not None  # the steps did reach the lock-out


def test_wrong_password_after_a_lock_locks_again_and_unlock_lifts_it(repo, eve) -> None:
    """The count is not reset by the lock's end; an admin's unlock is."""
    now = T0
    for _ in range(LOCK_AFTER):
        with pytest.raises(SignInError):
            authenticate(repo, "eve", "x" * 9, now=now)
        now += timedelta(seconds=signin.MAX_DELAY_S + 1)
    after = repo.get("eve").locked_until + timedelta(seconds=1)
    with pytest.raises(SignInError):
        authenticate(repo, "eve", "y" * 9, now=after)
    assert repo.get("eve").locked_until == after + LOCK_FOR
    accounts.unlock_user(repo, "eve")
    assert authenticate(repo, "eve", PW, now=after).name == "eve"


def test_sessions_expire_end_and_die_with_their_user(any_repo, monkeypatch) -> None:
    """A session holds for WATTSUP_SESSION_HOURS, ends at sign-out, and with its user."""
    repo = any_repo
    eve = accounts.create_user(repo, "eve", PW, role="analyst", org="acme")
    monkeypatch.setenv(signin.SESSION_VAR, "2")
    token = signin.start_session(repo, eve, now=T0)
    access = accounts.session_access(repo, token, now=T0 + timedelta(hours=1))
    assert (access.user, access.org, access.owner, access.role) == (
        "eve",
        "acme",
        "acme",
        "analyst",
    )
    assert accounts.session_access(repo, token, now=T0 + timedelta(hours=2)) is None
    assert accounts.session_access(repo, token, now=T0) is None  # the expired one was deleted
    second = signin.start_session(repo, eve)
    assert accounts.session_access(repo, second) is not None
    signin.end_session(repo, second)
    assert accounts.session_access(repo, second) is None
    third = signin.start_session(repo, eve)
    accounts.remove_user(repo, "eve")
    assert accounts.session_access(repo, third) is None
    assert accounts.session_access(repo, "forged-token") is None


def test_role_change_reaches_a_running_session(repo, eve) -> None:
    """A session reads the user's role at every use: a demotion holds at once."""
    token = signin.start_session(repo, eve)
    repo.grant("eve", "acme", "viewer")
    assert accounts.session_access(repo, token).scopes == frozenset({"read"})


def test_new_password_rules_never_echo_the_password(repo) -> None:
    """Short, huge or equal-to-name passwords are refused with a line that does not contain them."""
    for bad in ("short7", "z" * 2000, "carl-the-user"):
        with pytest.raises(PasswordRejected) as err:
            accounts.create_user(repo, "carl-the-user", bad)
        assert bad not in str(err.value)
    assert repo.get("carl-the-user") is None


def test_real_argon2id_parameters_and_rehash(store, tmp_path: Path) -> None:
    """Hashes are argon2id with RFC 9106's parameters; one made weaker is re-made at sign-in.
    The database file holds the hash, never the password."""
    repo = SqlUserRepository(store)
    real = passwords.HASHER
    assert (real.time_cost, real.memory_cost, real.parallelism) == (3, 65536, 4)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        accounts.create_user(repo, "carl", PASSWORDS["carl"], role="viewer")
    assert repo.get("carl").password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    authenticate(repo, "carl", PASSWORDS["carl"])
    assert repo.get("carl").password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("wattsup.db*"))
    assert b"$argon2id$" in raw and PASSWORDS["carl"].encode() not in raw


def test_identity_provider_users_cannot_sign_in_with_a_password(repo) -> None:
    """A user made without a password (``users create --oidc``) has no password to guess."""
    accounts.create_user(repo, "ida@example.com", None, role="viewer")
    with pytest.raises(SignInError, match="wrong user name or password"):
        authenticate(repo, "ida@example.com", "")


def test_no_password_in_any_column(any_repo, any_store) -> None:
    """After sign-ins, wrong ones and a session, no column of any users table holds the password."""
    repo = any_repo
    accounts.create_user(repo, "eve", PW, role="analyst", org="acme")
    with pytest.raises(SignInError):
        authenticate(repo, "eve", PW + "-wrong")
    signin.start_session(repo, authenticate(repo, "eve", PW))
    from sqlalchemy import select

    from core.store.schema import api_keys, memberships, organisations, sessions, users

    with any_store.reading() as conn:
        dump = repr(
            [
                conn.execute(select(t)).all()
                for t in (users, organisations, memberships, sessions, api_keys)
            ]
        )
    assert "argon2id" in dump and PW not in dump
