"""Local accounts: create (password checked and hashed), grant, unlock, remove; session access.

``create_user(repo, name, password, role=..., org=...)`` hashes the password (``passwords``) and
never keeps it; ``password=None`` makes a user who signs in only through the identity provider
(``st.login``; their name is the e-mail address the provider reports). ``remove_user`` removes the
user with their sessions and API keys in one transaction: both stop working at once.
``session_access(repo, token)`` is what the app asks on every run.
"""

from __future__ import annotations

from datetime import datetime

from core.auth import passwords
from core.auth.roles import Access, owner_of, scopes_of
from core.auth.signin import session_principal
from core.store.db import NotFoundError
from core.store.users import DEFAULT_ORG, User, UserRepository, check_user_name


def create_user(
    repo: UserRepository,
    name: str,
    password: str | None,
    *,
    role: str = "viewer",
    org: str = DEFAULT_ORG,
) -> User:
    """A new user with ``role`` in ``org`` (created when new)."""
    name = check_user_name(name)
    digest = None
    if password is not None:
        digest = passwords.hash_password(passwords.check_new_password(password, user=name))
    return repo.create(name, digest, org, role)


def remove_user(repo: UserRepository, name: str) -> int:
    """Remove the user, their memberships, sessions and API keys; the number of keys removed."""
    return repo.remove(name)


def unlock_user(repo: UserRepository, name: str) -> User:
    """Lift a lock-out and forget the failed sign-ins."""
    user = repo.get(name)
    if user is None:
        raise NotFoundError(f"no user named {name!r}; `python -m core users list` lists them.")
    repo.lock(user.id, None)
    return user


def access_of(user: str, org: str, role: str) -> Access:
    return Access(owner_of(org), user, org, role, scopes_of(role))


def session_access(
    repo: UserRepository, token: str | None, *, now: datetime | None = None
) -> Access | None:
    """The access of a signed-in app session now (None when signed out, expired or removed)."""
    found = session_principal(repo, token, now=now)
    if found is None:
        return None
    return access_of(found.user, found.org, found.role)
