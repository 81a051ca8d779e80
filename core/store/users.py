"""Organisations, users and memberships, and ``SqlUserRepository``: the rows behind ``core.auth``.

``UserRepository`` is the seam; ``SqlUserRepository(store)`` the one implementation (SQLite and
PostgreSQL). It stores what it is given: password hashes, sha256 digests of session tokens and API
keys. Hashing, checking passwords, slowing down sign-ins and choosing scopes live in ``core.auth``;
nothing here ever sees a password or a whole key.

The class is in two halves: this module's users, organisations and memberships, and
``core.store.credentials``'s sessions and API keys (``CredentialRepository``, a mixin it
inherits). The records and validators live in ``core.store.user_records``, the leaf both import,
and are re-exported here: import every name below from ``core.store.users``.

=====================  ===========================================================================
name                   what it is
=====================  ===========================================================================
``DEFAULT_ORG``        ``"default"``: the organisation that owns the rows with a NULL ``owner``
                       (every meter saved before users existed)
``owner_of(slug)``     the ``owner`` value of an organisation's rows: NULL for the default one,
                       else its slug; every repository filters by it
``User``               a user with their ``Membership`` s (org slug + role) and sign-in state
``Principal``          who a session or an API key speaks for: user, organisation, owner, role
                       (the membership's role as it is now), and the key's scope
``ApiKey``             a key as ``apikey list`` shows it: prefix, user, org, scope, revoked
=====================  ===========================================================================

A session or key is looked up with its user and membership in one query, on every request: a
removed user, a removed membership or a revoked key stop working at once (nothing is cached).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from core.errors import DataError
from core.store.credentials import CredentialRepository
from core.store.db import NotFoundError, Store
from core.store.schema import api_keys, memberships, organisations, sessions, users
from core.store.user_records import (
    DEFAULT_ORG,
    NAME_CHARS,
    SLUG,
    ApiKey,
    Membership,
    Principal,
    User,
    check_role,
    check_slug,
    check_user_name,
    existing_org_id,
    owner_of,
    read_user,
    utc,
)

__all__ = [  # the records are core.store.user_records's, imported from here
    "DEFAULT_ORG",
    "NAME_CHARS",
    "SLUG",
    "ApiKey",
    "Membership",
    "Principal",
    "SqlUserRepository",
    "User",
    "UserRepository",
    "check_role",
    "check_slug",
    "check_user_name",
    "owner_of",
    "utc",
]


class UserRepository(Protocol):
    """Where organisations, users, sessions and API keys live."""

    def any_users(self) -> bool: ...

    def get(self, name: str) -> User | None: ...

    def list(self) -> list[User]: ...

    def create(self, name: str, password_hash: str | None, org: str, role: str) -> User: ...

    def grant(self, name: str, org: str, role: str) -> User: ...

    def remove(self, name: str) -> int: ...

    def leave(self, name: str, org: str) -> int: ...

    def failed(self, user_id: int, now: datetime) -> int: ...

    def lock(self, user_id: int, until: datetime | None) -> None: ...

    def signed_in(self, user_id: int) -> None: ...

    def set_password_hash(self, user_id: int, password_hash: str) -> None: ...

    def add_session(self, token_hash: str, user_id: int, org: str, expires: datetime) -> None: ...

    def session(self, token_hash: str) -> Principal | None: ...

    def end_session(self, token_hash: str) -> None: ...

    def add_key(self, prefix: str, key_hash: str, user: str, org: str, scope: str) -> ApiKey: ...

    def key(self, key_hash: str) -> Principal | None: ...

    def keys(self, user: str | None = None) -> list[ApiKey]: ...

    def revoke(self, *, key_hash: str | None = None, prefix: str | None = None) -> int: ...

    def first_admin(self, org: str = DEFAULT_ORG) -> str | None: ...

    def organisations(self) -> list[str]: ...


class SqlUserRepository(CredentialRepository):
    """``UserRepository`` over a :class:`~core.store.db.Store` (sessions and API keys: the
    ``CredentialRepository`` it inherits)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---- users ----------------------------------------------------------------------------------
    def any_users(self) -> bool:
        """True once any user exists (the API then wants a key, the app a sign-in)."""
        with self.store.reading() as conn:
            return conn.execute(select(users.c.id).limit(1)).first() is not None

    def get(self, name: str) -> User | None:
        with self.store.reading() as conn:
            return read_user(conn, name)

    def list(self) -> list[User]:
        """Every user by name, with their memberships."""
        with self.store.reading() as conn:
            names = conn.scalars(select(users.c.name).order_by(users.c.name)).all()
            return [u for n in names if (u := read_user(conn, n)) is not None]

    def create(self, name: str, password_hash: str | None, org: str, role: str) -> User:
        """A new user with one membership (the organisation is created when new)."""
        name, org, role = check_user_name(name), check_slug(org), check_role(role)
        with self.store.writing() as conn:
            if read_user(conn, name) is not None:
                raise DataError(
                    f"user {name!r} exists already: remove it first, or add it to another "
                    "organisation with `python -m core users grant`."
                )
            user_id = conn.execute(
                users.insert().values(name=name, password_hash=password_hash, failed_logins=0)
            ).inserted_primary_key[0]
            conn.execute(
                memberships.insert().values(user_id=user_id, org_id=_org_id(conn, org), role=role)
            )
            return read_user(conn, name)

    def grant(self, name: str, org: str, role: str) -> User:
        """Give user ``name`` ``role`` in ``org`` (added, or the role changed)."""
        org, role = check_slug(org), check_role(role)
        with self.store.writing() as conn:
            user = read_user(conn, name)
            if user is None:
                raise NotFoundError(f"no user named {name!r}: create it with `users create`.")
            org_id = _org_id(conn, org)
            conn.execute(
                delete(memberships).where(
                    memberships.c.user_id == user.id, memberships.c.org_id == org_id
                )
            )
            conn.execute(memberships.insert().values(user_id=user.id, org_id=org_id, role=role))
            return read_user(conn, name)

    def remove(self, name: str) -> int:
        """Remove user ``name`` with their memberships, sessions and API keys; the keys removed."""
        with self.store.writing() as conn:
            user = read_user(conn, name)
            if user is None:
                raise NotFoundError(
                    f"no user named {name!r}; `python -m core users list` lists them."
                )
            count = conn.scalar(
                select(func.count()).select_from(api_keys).where(api_keys.c.user_id == user.id)
            )
            # explicit deletes: SQLite enforces the cascades only with foreign keys switched on
            for table in (api_keys, sessions, memberships):
                conn.execute(delete(table).where(table.c.user_id == user.id))
            conn.execute(delete(users).where(users.c.id == user.id))
            return int(count or 0)

    def leave(self, name: str, org: str) -> int:
        """Take user ``name`` out of organisation ``org``: the membership and their sessions in
        it are deleted, their API keys of it revoked (so a later ``grant`` does not revive them);
        the keys revoked. Their other organisations stay as they were."""
        with self.store.writing() as conn:
            user = read_user(conn, name)
            if user is None:
                raise NotFoundError(
                    f"no user named {name!r}; `python -m core users list` lists them."
                )
            if user.role_in(org) is None:
                raise NotFoundError(
                    f"{name} is not a member of {org!r} (their organisations: "
                    f"{', '.join(m.org for m in user.memberships) or 'none'})."
                )
            org_id = existing_org_id(conn, org)
            mine = (memberships.c.user_id == user.id) & (memberships.c.org_id == org_id)
            conn.execute(delete(memberships).where(mine))
            conn.execute(
                delete(sessions).where(sessions.c.user_id == user.id, sessions.c.org_id == org_id)
            )
            revoked = conn.execute(
                update(api_keys)
                .where(
                    api_keys.c.user_id == user.id,
                    api_keys.c.org_id == org_id,
                    api_keys.c.revoked.is_(None),
                )
                .values(revoked=datetime.now(UTC))
            )
            return int(revoked.rowcount or 0)

    def failed(self, user_id: int, now: datetime) -> int:
        """Count one wrong password (in SQL, so parallel attempts all count); the new count."""
        with self.store.writing() as conn:
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(failed_logins=users.c.failed_logins + 1, last_failed=now)
            )
            return int(conn.scalar(select(users.c.failed_logins).where(users.c.id == user_id)) or 0)

    def lock(self, user_id: int, until: datetime | None) -> None:
        """No sign-in before ``until`` (None: unlock and forget the failures)."""
        values = {"locked_until": until} if until else {"locked_until": None, "failed_logins": 0}
        with self.store.writing() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(**values))

    def signed_in(self, user_id: int) -> None:
        """A right password: the failures are forgotten."""
        with self.store.writing() as conn:
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(failed_logins=0, last_failed=None, locked_until=None)
            )

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self.store.writing() as conn:
            conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )

    # ---- organisations --------------------------------------------------------------------------
    def first_admin(self, org: str = DEFAULT_ORG) -> str | None:
        """The earliest-created admin of ``org`` (who a key made without ``--user`` belongs to)."""
        query = (
            select(users.c.name)
            .select_from(memberships)
            .join(users, users.c.id == memberships.c.user_id)
            .join(organisations, organisations.c.id == memberships.c.org_id)
            .where(organisations.c.slug == org, memberships.c.role == "admin")
            .order_by(users.c.created, users.c.id)
            .limit(1)
        )
        with self.store.reading() as conn:
            return conn.scalar(query)

    def organisations(self) -> list[str]:
        """The organisations' slugs, sorted (``default`` only once a user of it was made)."""
        with self.store.reading() as conn:
            return list(conn.scalars(select(organisations.c.slug).order_by(organisations.c.slug)))


# ---- helpers ------------------------------------------------------------------------------------
def _org_id(conn: Connection, slug: str) -> int:
    """The organisation's id, created when new."""
    found = conn.scalar(select(organisations.c.id).where(organisations.c.slug == slug))
    if found is not None:
        return found
    name = "Default workspace" if slug == DEFAULT_ORG else slug
    return conn.execute(organisations.insert().values(slug=slug, name=name)).inserted_primary_key[0]
