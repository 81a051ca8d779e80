"""Roles and what they may do (scopes), and the owner an organisation's rows carry.

=========  ==========================  ==============================================================
role       scopes                      may
=========  ==========================  ==============================================================
viewer     read                        open saved meters, runs, events, forecasts
analyst    read, write                 also upload into the store, label, tune, run and record
                                       detection, push readings, create and delete meters
admin      read, write, admin          also manage users, alert channels and other people's API keys
=========  ==========================  ==============================================================

An API key has the scope ``read`` or ``write`` and never more than its user's role allows *now*:
``key_scopes(role, scope)`` is computed on every request, so a user demoted to viewer keeps only
read access through a write key made earlier. A write key of an admin also carries ``admin``.

May import: ``core.store`` (the owner mapping lives beside the tables), ``core.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.store.schema import ROLES
from core.store.users import DEFAULT_ORG, owner_of

__all__ = [
    "DEFAULT_ORG",
    "ROLES",
    "SCOPES",
    "WORKSPACE",
    "Access",
    "at_least",
    "key_scopes",
    "owner_of",
    "scopes_of",
]

SCOPES: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "analyst": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write", "admin"}),
}
EVERY_SCOPE = SCOPES["admin"]  # the workspace of an install without users


def scopes_of(role: str) -> frozenset[str]:
    """The scopes of ``role`` (an unknown role has none)."""
    return SCOPES.get(role, frozenset())


def key_scopes(role: str, scope: str) -> frozenset[str]:
    """What a key of ``scope`` may do for a user whose role is ``role``: at most the role."""
    wanted = {"read"} if scope == "read" else {"read", "write", "admin"}
    return frozenset(wanted) & scopes_of(role)


def at_least(role: str | None, needed: str) -> bool:
    """True when ``role`` is ``needed`` or above (viewer < analyst < admin)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class Access:
    """What a caller may do: whose rows (``owner``), who (``user``), in which organisation, with
    which role and scopes. ``WORKSPACE`` is everyone's access while no user exists."""

    owner: str | None
    user: str | None
    org: str
    role: str | None
    scopes: frozenset[str]

    def can(self, scope: str) -> bool:
        return scope in self.scopes


WORKSPACE = Access(None, None, DEFAULT_ORG, "admin", EVERY_SCOPE)
