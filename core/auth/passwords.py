"""Password hashing with argon2id (``argon2-cffi``), and the rules a new password must pass.

Why ``argon2-cffi`` and our own thin sign-in form rather than ``streamlit-authenticator``: the
latter keeps users and hashes in a YAML file that the app rewrites (one writer, no PostgreSQL, no
lock-out shared between processes) and brings its own cookie scheme; here users live in the same
database as the meters they own, the API checks the same rows, and the CLI creates them. What is
left to do is small: hash, verify, count failures. argon2id is memory-hard (RFC 9106) and
``PasswordHasher``'s defaults (3 passes, 64 MiB, 4 lanes) are that RFC's second recommended
profile; a stored hash carries its parameters, so raising them later re-hashes at the next sign-in
(``needs_rehash``).

A password is never logged, stored or put into an exception: errors name the rule it broke.
"""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.errors import DataError

MIN_CHARS = 8  # NIST SP 800-63B's minimum for a memorised secret chosen by the user
MAX_CHARS = 1024  # a bound, so nobody makes the server hash a megabyte

HASHER = PasswordHasher()
_dummy: dict[PasswordHasher, str] = {}  # per hasher: verified when there is no such user


class PasswordRejected(DataError):
    """A new password that breaks a rule (the message names the rule, never the password)."""


def check_new_password(password: str, *, user: str = "") -> str:
    """``password`` when it may be set; else a PasswordRejected line."""
    if not isinstance(password, str) or len(password) < MIN_CHARS:
        raise PasswordRejected(f"the password is too short: use at least {MIN_CHARS} characters.")
    if len(password) > MAX_CHARS:
        raise PasswordRejected(f"the password is too long: use at most {MAX_CHARS} characters.")
    if user and password.strip().lower() == user.strip().lower():
        raise PasswordRejected("the password cannot be the user name.")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string: parameters, salt and digest; never the password)."""
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; False for a mismatch, a missing or bad hash."""
    if not stored or not isinstance(password, str) or len(password) > MAX_CHARS:
        _spend(password)
        return False
    try:
        return HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when ``stored`` was made with weaker parameters than ``HASHER``'s."""
    try:
        return HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _spend(password: object) -> None:
    """Take as long as a real check (a missing user must not answer faster)."""
    hasher = HASHER
    dummy = _dummy.get(hasher) or _dummy.setdefault(hasher, hasher.hash("wattsup-no-such-user"))
    with contextlib.suppress(VerificationError):
        hasher.verify(dummy, str(password)[:MAX_CHARS])
