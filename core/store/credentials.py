"""Sessions and API keys: the credential half of ``SqlUserRepository``.

``CredentialRepository`` is a mixin: ``core.store.users.SqlUserRepository`` inherits it, and
callers reach these methods through that class (``SqlUserRepository(store).add_key(...)``); it
needs only the ``store`` attribute that class sets. Rows hold sha256 digests of session tokens and
API keys, never a token or a whole key.

=================================  ==============================================================
method                             what it does
=================================  ==============================================================
``add_session`` / ``end_session``  store a session's token digest (pruning expired sessions) /
                                   delete it
``session(token_hash)``            the session's ``Principal`` with its expiry, expired or not
``add_key`` / ``revoke``           store a key's digest, prefix and scope / revoke it by digest
                                   or by prefix
``key(key_hash)``                  the ``Principal`` of a valid (unrevoked) key, with its scope
``keys(user)``                     the keys as ``apikey list`` shows them (``ApiKey``)
=================================  ==============================================================

Sessions and keys are read with their user and membership in one query, on every use: a removed
user, a removed membership or a revoked key stop working at once (nothing is cached).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from core.errors import DataError
from core.store.db import NotFoundError, Store
from core.store.schema import SCOPES, api_keys, memberships, organisations, sessions, users
from core.store.user_records import ApiKey, Principal, existing_org_id, read_user, utc


class CredentialRepository:
    """Sessions and API keys over ``self.store`` (mixed into ``SqlUserRepository``)."""

    store: Store

    # ---- sessions -------------------------------------------------------------------------------
    def add_session(self, token_hash: str, user_id: int, org: str, expires: datetime) -> None:
        with self.store.writing() as conn:
            org_id = existing_org_id(conn, org)
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
        query = _principal_of(sessions, sessions.c.expires).where(
            sessions.c.token_hash == token_hash
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
            found = read_user(conn, user)
            if found is None:
                raise NotFoundError(
                    f"no user named {user!r}; `python -m core users list` lists them."
                )
            org_id = existing_org_id(conn, org)
            key_id = conn.execute(
                api_keys.insert().values(
                    prefix=prefix, key_hash=key_hash, user_id=found.id, org_id=org_id, scope=scope
                )
            ).inserted_primary_key[0]
            return next(k for k in _keys(conn) if k.id == key_id)

    def key(self, key_hash: str) -> Principal | None:
        """The principal of a valid key: its user, org and the user's role there now, and the
        key's scope; None when the key is unknown, revoked, or its user has left the org."""
        query = _principal_of(api_keys, api_keys.c.scope).where(
            api_keys.c.key_hash == key_hash, api_keys.c.revoked.is_(None)
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


# ---- helpers ------------------------------------------------------------------------------------
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


def _principal_of(table, extra):
    """User id and name, org id and slug, the user's role there now and ``extra``, for the rows of
    ``table`` (sessions or api_keys); no row when the user is no longer a member of that org."""
    return (
        select(
            users.c.id,
            users.c.name,
            organisations.c.id,
            organisations.c.slug,
            memberships.c.role,
            extra,
        )
        .select_from(table)
        .join(users, users.c.id == table.c.user_id)
        .join(organisations, organisations.c.id == table.c.org_id)
        .join(
            memberships,
            (memberships.c.user_id == users.c.id) & (memberships.c.org_id == organisations.c.id),
        )
    )
