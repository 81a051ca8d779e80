"""What the auth tests share: the test users' passwords (unique strings a grep can find) and a
cheap argon2 profile, so making users costs milliseconds (one test keeps the real profile)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from core.auth import passwords

# distinctive, so finding one in a database file or a log cannot be a coincidence
PASSWORDS = {
    name: f"pw-{name}-Zq7#unique-{i:04d}"
    for i, name in enumerate(("alice", "vic", "bob", "dave", "temp", "ana", "eve", "carl"))
}
CHEAP = PasswordHasher.from_parameters(CHEAPEST)


@contextmanager
def cheap_hashing() -> Iterator[None]:
    """argon2id with the smallest parameters while the block runs (test speed only)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(passwords, "HASHER", CHEAP)
        yield
