"""Auth fixtures: a fresh SQLite database per test (``repo``), or one on SQLite and one on the
session's PostgreSQL server (``any_repo``, ``tests.store.conftest``) for what SQL does itself
(the failure count, sessions, joins); cheap argon2 parameters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.store.db import Store, open_store
from core.store.users import SqlUserRepository
from tests.auth.helpers import cheap_hashing
from tests.store.conftest import db_url, pg_server  # noqa: F401  (fixtures)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'wattsup.db'}", home=tmp_path / "home")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def any_store(db_url: str, tmp_path: Path) -> Iterator[Store]:  # noqa: F811
    opened = open_store(db_url, home=tmp_path / "home")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def repo(store: Store) -> Iterator[SqlUserRepository]:
    with cheap_hashing():
        yield SqlUserRepository(store)


@pytest.fixture
def any_repo(any_store: Store) -> Iterator[SqlUserRepository]:
    with cheap_hashing():
        yield SqlUserRepository(any_store)
