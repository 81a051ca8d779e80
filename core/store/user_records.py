"""What the user repository returns, and the row readers ``users`` and ``credentials`` share.

``core.store.users`` re-exports every name here (import them from there); this module exists so
that ``core.store.credentials`` can use them without importing ``core.store.users``, which imports
it. Importing nothing from either, it is the leaf of the three.

================================  ================================================================
name                              what it is
================================  ================================================================
``DEFAULT_ORG``, ``owner_of``     the default organisation; an organisation's ``owner`` value
``check_slug`` and co.            the one-line DataErrors for a bad slug, user name or role
``utc``                           a stored time as an aware UTC datetime
``User``, ``Membership``          a user with their organisations and roles, and sign-in state
``Principal``, ``ApiKey``         who a session or key speaks for; a key as ``apikey list`` shows it
``read_user``                     a ``User`` with their memberships, read on an open connection
``existing_org_id``               an organisation's id, or a NotFoundError when there is none
================================  ================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from core.errors import DataError
from core.store.db import NotFoundError
from core.store.schema import ROLES, memberships, organisations, users

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


# ---- row readers --------------------------------------------------------------------------------
def read_user(conn: Connection, name: str) -> User | None:
    """User ``name`` with their memberships (sorted by organisation); None when there is none."""
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


def existing_org_id(conn: Connection, slug: str) -> int:
    """The organisation's id; a NotFoundError when there is no such organisation."""
    found = conn.scalar(select(organisations.c.id).where(organisations.c.slug == slug))
    if found is None:
        raise NotFoundError(f"no organisation {slug!r}: it is made by `users create ... --org`.")
    return found
