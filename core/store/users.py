"""Organisations, users, memberships, sessions and API keys: the rows behind ``core.auth``.

``UserRepository`` is the seam; ``SqlUserRepository(store)`` the one implementation (SQLite and
PostgreSQL). It stores what it is given: password hashes, sha256 digests of session tokens and API
keys. Hashing, checking passwords, slowing down sign-ins and choosing scopes live in ``core.auth``;
nothing here ever sees a password or a whole key.

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

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from core.errors import DataError
from core.store.db import NotFoundError, Store
from core.store.schema import ROLES, SCOPES, api_keys, memberships, organisations, sessions, users

DEFAULT_ORG = "default"
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
NAME_CHARS = 200  # users.name is a String(200)


def owner_of(slug: str) -> str | None:
    """The ``owner`` value of organisation ``slug``'s rows (NULL for the default organisation)."""
    return None if slug == DEFAULT_ORG else slug


def check_slug(slug: str) -> str:
    """``slug`` when it is a valid organisation slug; else a one-line DataError."""
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise DataError(
            f"organisation {str(slug)[:60]!r} is not a slug: use 1-100 lower-case letters, digits, "
            "'-' or '_', starting with a letter or digit (e.g. acme-energy)."
        )
    return slug


def check_user_name(name: str) -> str:
    """``name`` stripped, when it can be a user name (1-200 printable characters)."""
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(text) > NAME_CHARS or not text.isprintable():
        raise DataError(
            f"user name {str(name)[:60]!r} cannot be used: give 1-{NAME_CHARS} printable "
            "characters (an e-mail address for identity-provider users)."
        )
    return text


def check_role(role: str) -> str:
    if role not in ROLES:
        raise DataError(f"unknown role {role!r}; use one of {', '.join(ROLES)}.")
    return role


def utc(value: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite hands back naive ones)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class Membership:
    org: str
    role: str


@dataclass(frozen=True)
class User:
    id: int
    name: str
    password_hash: str | None
    failed_logins: int
    last_failed: datetime | None
    locked_until: datetime | None
    created: datetime | None
    memberships: tuple[Membership, ...] = ()

    def role_in(self, org: str) -> str | None:
        return next((m.role for m in self.memberships if m.org == org), None)


@dataclass(frozen=True)
class Principal:
    """Who a session or key speaks for, read in one query on every use."""

    user_id: int
    user: str
    org_id: int
    org: str
    role: str
    scope: str | None = None  # an API key's scope; None for a session
    expires: datetime | None = None

    @property
    def owner(self) -> str | None:
        return owner_of(self.org)


@dataclass(frozen=True)
class ApiKey:
    id: int
    prefix: str
    user: str
    org: str
    scope: str
    created: datetime | None
    revoked: datetime | None


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


class SqlUserRepository:
    """``UserRepository`` over a :class:`~core.store.db.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---- users ----------------------------------------------------------------------------------
    def any_users(self) -> bool:
        """True once any user exists (the API then wants a key, the app a sign-in)."""
        with self.store.reading() as conn:
            return conn.execute(select(users.c.id).limit(1)).first() is not None

    def get(self, name: str) -> User | None:
        with self.store.reading() as conn:
            return _user(conn, name)

    def list(self) -> list[User]:
        """Every user by name, with their memberships."""
        with self.store.reading() as conn:
            names = conn.scalars(select(users.c.name).order_by(users.c.name)).all()
            return [u for n in names if (u := _user(conn, n)) is not None]

    def create(self, name: str, password_hash: str | None, org: str, role: str) -> User:
        """A new user with one membership (the organisation is created when new)."""
        name, org, role = check_user_name(name), check_slug(org), check_role(role)
        with self.store.writing() as conn:
            if _user(conn, name) is not None:
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
            return _user(conn, name)

    def grant(self, name: str, org: str, role: str) -> User:
        """Give user ``name`` ``role`` in ``org`` (added, or the role changed)."""
        org, role = check_slug(org), check_role(role)
        with self.store.writing() as conn:
            user = _user(conn, name)
            if user is None:
                raise NotFoundError(f"no user named {name!r}: create it with `users create`.")
            org_id = _org_id(conn, org)
            conn.execute(
                delete(memberships).where(
                    memberships.c.user_id == user.id, memberships.c.org_id == org_id
                )
            )
            conn.execute(memberships.insert().values(user_id=user.id, org_id=org_id, role=role))
            return _user(conn, name)

    def remove(self, name: str) -> int:
        """Remove user ``name`` with their memberships, sessions and API keys; the keys removed."""
        with self.store.writing() as conn:
            user = _user(conn, name)
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
            user = _user(conn, name)
            if user is None:
                raise NotFoundError(
                    f"no user named {name!r}; `python -m core users list` lists them."
                )
            if user.role_in(org) is None:
                raise NotFoundError(
                    f"{name} is not a member of {org!r} (their organisations: "
                    f"{', '.join(m.org for m in user.memberships) or 'none'})."
                )
            org_id = _existing_org_id(conn, org)
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

    # ---- sessions -------------------------------------------------------------------------------
    def add_session(self, token_hash: str, user_id: int, org: str, expires: datetime) -> None:
        with self.store.writing() as conn:
            org_id = _existing_org_id(conn, org)
            conn.execute(
                delete(sessions).where(sessions.c.expires < datetime.now(UTC))
            )  # expired ones are of no use to anybody
            conn.execute(
                sessions.insert().values(
                    token_hash=token_hash, user_id=user_id, org_id=org_id, expires=expires
                )
            )

    def session(self, token_hash: str) -> Principal | None:
        """The session's principal (its user's role now), expired or not; None when unknown."""
        query = (
            select(
                users.c.id,
                users.c.name,
                organisations.c.id,
                organisations.c.slug,
                memberships.c.role,
                sessions.c.expires,
            )
            .select_from(sessions)
            .join(users, users.c.id == sessions.c.user_id)
            .join(organisations, organisations.c.id == sessions.c.org_id)
            .join(
                memberships,
                (memberships.c.user_id == users.c.id)
                & (memberships.c.org_id == organisations.c.id),
            )
            .where(sessions.c.token_hash == token_hash)
        )
        with self.store.reading() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return Principal(row[0], row[1], row[2], row[3], row[4], expires=utc(row[5]))

    def end_session(self, token_hash: str) -> None:
        with self.store.writing() as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))

    # ---- API keys -------------------------------------------------------------------------------
    def add_key(self, prefix: str, key_hash: str, user: str, org: str, scope: str) -> ApiKey:
        if scope not in SCOPES:
            raise DataError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}.")
        with self.store.writing() as conn:
            found = _user(conn, user)
            if found is None:
                raise NotFoundError(
                    f"no user named {user!r}; `python -m core users list` lists them."
                )
            org_id = _existing_org_id(conn, org)
            key_id = conn.execute(
                api_keys.insert().values(
                    prefix=prefix, key_hash=key_hash, user_id=found.id, org_id=org_id, scope=scope
                )
            ).inserted_primary_key[0]
            return next(k for k in _keys(conn) if k.id == key_id)

    def key(self, key_hash: str) -> Principal | None:
        """The principal of a valid key: its user, org and the user's role there now, and the
        key's scope; None when the key is unknown, revoked, or its user has left the org."""
        query = (
            select(
                users.c.id,
                users.c.name,
                organisations.c.id,
                organisations.c.slug,
                memberships.c.role,
                api_keys.c.scope,
            )
            .select_from(api_keys)
            .join(users, users.c.id == api_keys.c.user_id)
            .join(organisations, organisations.c.id == api_keys.c.org_id)
            .join(
                memberships,
                (memberships.c.user_id == users.c.id)
                & (memberships.c.org_id == organisations.c.id),
            )
            .where(api_keys.c.key_hash == key_hash, api_keys.c.revoked.is_(None))
        )
        with self.store.reading() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return Principal(row[0], row[1], row[2], row[3], row[4], scope=row[5])

    def keys(self, user: str | None = None) -> list[ApiKey]:
        with self.store.reading() as conn:
            return [k for k in _keys(conn) if user is None or k.user == user]

    def revoke(self, *, key_hash: str | None = None, prefix: str | None = None) -> int:
        """Revoke the key with this hash, or the one listed with this prefix; the keys revoked.
        A prefix shared by several valid keys is refused (give the whole key)."""
        where = api_keys.c.key_hash == key_hash if key_hash else api_keys.c.prefix == prefix
        with self.store.writing() as conn:
            ids = conn.scalars(
                select(api_keys.c.id).where(where, api_keys.c.revoked.is_(None))
            ).all()
            if len(ids) > 1:
                raise DataError(
                    f"{len(ids)} keys start with {prefix!r}: give the whole key to revoke one."
                )
            if ids:
                conn.execute(
                    update(api_keys)
                    .where(api_keys.c.id == ids[0])
                    .values(revoked=datetime.now(UTC))
                )
            return len(ids)

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
def _user(conn: Connection, name: str) -> User | None:
    row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    if row is None:
        return None
    ms = conn.execute(
        select(organisations.c.slug, memberships.c.role)
        .select_from(memberships)
        .join(organisations, organisations.c.id == memberships.c.org_id)
        .where(memberships.c.user_id == row["id"])
        .order_by(organisations.c.slug)
    ).all()
    return User(
        row["id"],
        row["name"],
        row["password_hash"],
        int(row["failed_logins"] or 0),
        utc(row["last_failed"]),
        utc(row["locked_until"]),
        utc(row["created"]),
        tuple(Membership(slug, role) for slug, role in ms),
    )


def _org_id(conn: Connection, slug: str) -> int:
    """The organisation's id, created when new."""
    found = conn.scalar(select(organisations.c.id).where(organisations.c.slug == slug))
    if found is not None:
        return found
    name = "Default workspace" if slug == DEFAULT_ORG else slug
    return conn.execute(organisations.insert().values(slug=slug, name=name)).inserted_primary_key[0]


def _existing_org_id(conn: Connection, slug: str) -> int:
    found = conn.scalar(select(organisations.c.id).where(organisations.c.slug == slug))
    if found is None:
        raise NotFoundError(f"no organisation {slug!r}: it is made by `users create ... --org`.")
    return found


def _keys(conn: Connection) -> list[ApiKey]:
    rows = conn.execute(
        select(
            api_keys.c.id,
            api_keys.c.prefix,
            users.c.name,
            organisations.c.slug,
            api_keys.c.scope,
            api_keys.c.created,
            api_keys.c.revoked,
        )
        .select_from(api_keys)
        .join(users, users.c.id == api_keys.c.user_id)
        .join(organisations, organisations.c.id == api_keys.c.org_id)
        .order_by(api_keys.c.id)
    ).all()
    return [ApiKey(r[0], r[1], r[2], r[3], r[4], utc(r[5]), utc(r[6])) for r in rows]
