"""Signing in with a local account: the slow-down, the lock-out, and sessions that expire.

==========================  ========================================================================
rule                        what happens
==========================  ========================================================================
every refusal               one answer, ``WRONG``, whatever the reason (an unknown name, a wrong
                            password, the slow-down, the lock-out) and one argon2 check's time:
                            nothing tells a name that exists from one that does not (OWASP
                            authentication cheat sheet: the same message for a locked account)
slow-down                   after ``FREE_FAILURES`` (5) wrong passwords in a row, the next attempt
                            is refused unchecked until ``delay(n)`` = 2^(n-5) s (at most 30 s)
                            after the last failure; the count lives in the database, so it holds
                            across browser sessions, app processes and restarts
lock-out                    the ``LOCK_AFTER``-th (50th) wrong password locks the account for
                            ``LOCK_FOR`` (15 min): every attempt fails, the right password too; a
                            wrong one after the lock ends locks it again (the count is not reset);
                            ``python -m core users list`` shows the lock to an admin
right password              the failures are forgotten; a hash made with weaker parameters is
                            re-made
session                     a random token (``secrets.token_urlsafe(32)``) handed to the app; the
                            database keeps its sha256 only; it ends ``WATTSUP_SESSION_HOURS``
                            (12) after sign-in, at sign-out, or when the user or membership goes
==========================  ========================================================================

A refused attempt is a :class:`SignInError` whose text is always ``WRONG`` (no other attribute:
an answer that differed for a known name would say the name exists; unknown names are not
counted, there is no row to count them in, so the slow-down and lock-out must stay invisible).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import UTC, datetime, timedelta

from core.auth import passwords
from core.errors import DataError
from core.store.users import Principal, User, UserRepository

FREE_FAILURES = 5  # a few typos cost nothing
MAX_DELAY_S = 30.0  # the slow-down's ceiling: 45 guesses more take >20 min before the lock-out
LOCK_AFTER = 50  # the brute-force bound
LOCK_FOR = timedelta(minutes=15)
SESSION_VAR = "WATTSUP_SESSION_HOURS"
SESSION_HOURS = 12.0  # a working day; a new sign-in after it


class SignInError(DataError):
    """A sign-in that was refused."""


WRONG = (
    f"wrong user name or password, or too many wrong tries: after {FREE_FAILURES} in a row wait "
    f"up to {MAX_DELAY_S:.0f} s between tries; after {LOCK_AFTER} an account is locked for "
    f"{LOCK_FOR.seconds // 60} min (an admin can unlock it)."
)


def delay(failures: int) -> float:
    """Seconds to wait after ``failures`` wrong passwords in a row before the next is checked."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(2.0 ** (failures - FREE_FAILURES), MAX_DELAY_S)


def _ready(user: User) -> datetime:
    """When ``user``'s next attempt may be checked (the slow-down after their failures)."""
    if user.last_failed is None or user.failed_logins < FREE_FAILURES:
        return datetime.min.replace(tzinfo=UTC)
    return user.last_failed + timedelta(seconds=delay(user.failed_logins))


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def authenticate(
    repo: UserRepository, name: str, password: str, *, now: datetime | None = None
) -> User:
    """The user, when ``password`` is theirs and the account may sign in; else a SignInError."""
    now = _now(now)
    user = repo.get(name.strip()) if isinstance(name, str) else None
    if user is None or user.password_hash is None:  # unknown, or signs in through the provider
        passwords.verify_password(None, password)
        raise SignInError(WRONG)
    # locked, or slowed down: refused unchecked, with the answer and the time of a wrong password
    if (user.locked_until and now < user.locked_until) or now < _ready(user):
        passwords.verify_password(None, password)
        raise SignInError(WRONG)
    if not passwords.verify_password(user.password_hash, password):
        failures = repo.failed(user.id, now)
        if failures >= LOCK_AFTER:
            repo.lock(user.id, now + LOCK_FOR)
        raise SignInError(WRONG)
    repo.signed_in(user.id)
    if passwords.needs_rehash(user.password_hash):
        repo.set_password_hash(user.id, passwords.hash_password(password))
    return user


# ---- sessions -----------------------------------------------------------------------------------
def token_hash(token: str) -> str:
    """sha256 of a session token or API key (both carry 256 random bits: no salt or stretching
    is needed, and a lookup by hash stays one indexed query)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def session_hours() -> float:
    raw = os.environ.get(SESSION_VAR, "").strip()
    if not raw:
        return SESSION_HOURS
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not hours > 0:
        raise DataError(f"{SESSION_VAR} takes a number of hours > 0, got {raw!r}.")
    return hours


def start_session(
    repo: UserRepository, user: User, org: str | None = None, *, now: datetime | None = None
) -> str:
    """A new session of ``user`` in ``org`` (their first organisation by default): its token."""
    if not user.memberships:
        raise SignInError(f"{user.name} belongs to no organisation yet: ask an admin to add them.")
    org = org or user.memberships[0].org
    if user.role_in(org) is None:
        raise SignInError(f"{user.name} is not a member of {org!r}.")
    token = secrets.token_urlsafe(32)
    expires = _now(now) + timedelta(hours=session_hours())
    repo.add_session(token_hash(token), user.id, org, expires)
    return token


def session_principal(
    repo: UserRepository, token: str | None, *, now: datetime | None = None
) -> Principal | None:
    """Who the session ``token`` speaks for now; None when it is unknown, expired (then removed),
    or its user or membership is gone."""
    if not token:
        return None
    digest = token_hash(token)
    found = repo.session(digest)
    if found is None:
        return None
    if found.expires is None or _now(now) >= found.expires:
        repo.end_session(digest)
        return None
    return found


def end_session(repo: UserRepository, token: str | None) -> None:
    """Sign out: the session is deleted (a copied token stops working too)."""
    if token:
        repo.end_session(token_hash(token))
