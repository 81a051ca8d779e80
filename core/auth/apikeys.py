"""API keys: made once, shown once, stored as a sha256, checked on every request.

A key reads ``wu_`` + 43 URL-safe characters (256 random bits). The database keeps its sha256 and
its first ``PREFIX_CHARS`` characters (``wu_Ab3dEf9h``: enough to tell keys apart in ``apikey
list`` and to revoke one, far too little to guess the rest). A key belongs to one user in one
organisation and has the scope ``read`` or ``write``; what it may do is computed on each request
from the user's role in that organisation *now* (``roles.key_scopes``): at most the role, nothing
once the key is revoked, the user removed or their membership ended.

=========================  =======================================================================
function                   what it does
=========================  =======================================================================
``create_key``             a new key for a user (the first admin of the default organisation when
                           no user is named): ``(key, ApiKey)``; the key is not kept anywhere
``authorise(repo, key)``   the ``Access`` of a valid key, or None
``revoke_key``             by the whole key or by its listed prefix
=========================  =======================================================================
"""

from __future__ import annotations

import secrets

from core.auth.roles import Access, key_scopes, owner_of, scopes_of
from core.auth.signin import token_hash
from core.errors import DataError
from core.store.db import NotFoundError
from core.store.users import DEFAULT_ORG, ApiKey, UserRepository

KEY_START = "wu_"
PREFIX_CHARS = 11  # "wu_" + 8 characters: 48 bits, shown in listings


def new_key() -> str:
    return KEY_START + secrets.token_urlsafe(32)


def looks_like_key(text: str) -> bool:
    return isinstance(text, str) and text.startswith(KEY_START) and len(text) > PREFIX_CHARS


def create_key(
    repo: UserRepository,
    *,
    user: str | None = None,
    scope: str = "read",
    org: str | None = None,
) -> tuple[str, ApiKey]:
    """A new key of ``scope`` for ``user`` in ``org`` (their first organisation by default)."""
    if scope not in ("read", "write"):
        raise DataError(f"unknown scope {scope!r}; use read or write.")
    if user is None:
        user = repo.first_admin(DEFAULT_ORG)
        if user is None:
            raise NotFoundError(
                "no admin in the default organisation to own the key: create one with "
                "`python -m core users create NAME --role admin`, or name a user with --user."
            )
    found = repo.get(user)
    if found is None:
        raise NotFoundError(f"no user named {user!r}; `python -m core users list` lists them.")
    if not found.memberships:
        raise DataError(f"{user} belongs to no organisation: grant them a role first.")
    org = org or found.memberships[0].org
    role = found.role_in(org)
    if role is None:
        raise NotFoundError(f"{user} is not a member of {org!r}.")
    if scope == "write" and "write" not in scopes_of(role):
        raise DataError(
            f"{user} is a {role} in {org}: their keys can only read; make a --scope read key, "
            "or grant them the analyst role first."
        )
    key = new_key()
    stored = repo.add_key(key[:PREFIX_CHARS], token_hash(key), found.name, org, scope)
    return key, stored


def authorise(repo: UserRepository, key: str | None) -> Access | None:
    """The access ``key`` grants now; None for no key, an unknown or revoked one, or one whose
    user or membership is gone. One query, never cached: a revocation holds from the next call."""
    if not key or not looks_like_key(key) or len(key) > 200:
        return None
    found = repo.key(token_hash(key))
    if found is None:
        return None
    scopes = key_scopes(found.role, found.scope or "read")
    return Access(owner_of(found.org), found.user, found.org, found.role, scopes)


def revoke_key(repo: UserRepository, key_or_prefix: str) -> int:
    """Revoke a key given whole or by the prefix ``apikey list`` shows; the number revoked (0/1)."""
    text = (key_or_prefix or "").strip()
    if len(text) > PREFIX_CHARS and looks_like_key(text):
        return repo.revoke(key_hash=token_hash(text))
    if len(text) == PREFIX_CHARS and text.startswith(KEY_START):
        return repo.revoke(prefix=text)
    raise DataError(
        f"give the whole key or its {PREFIX_CHARS}-character prefix as `apikey list` shows it "
        "(wu_...)."
    )
