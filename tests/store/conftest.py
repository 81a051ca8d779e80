"""Store fixtures: every database test runs on SQLite (a file in tmp_path) and on a real PostgreSQL.

The PostgreSQL server is started once per session (``pg_server.local_postgres``) and each test gets a
database of its own, dropped afterwards. Without PostgreSQL its tests are skipped on a developer's
machine but FAIL under CI (``CI`` set), so a missing install step in ``scripts/test.sh`` shows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.store.db import Store, open_store
from core.store.meters import SqlMeterRepository
from tests.store.pg_server import LocalPostgres, PostgresUnavailable, local_postgres

DIALECTS = ("sqlite", "postgresql")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalPostgres]:
    """A PostgreSQL server on 127.0.0.1 for the whole session, stopped at the end."""
    try:
        with local_postgres() as server:
            yield server
    except PostgresUnavailable as err:
        if in_ci():
            pytest.fail(f"PostgreSQL is required in CI: {err}")
        pytest.skip(f"PostgreSQL not available: {err}")


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wattsup.db'}"
        return
    server: LocalPostgres = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    """The store opened (and migrated) on ``db_url``, blobs under tmp_path."""
    opened = open_store(db_url, home=tmp_path / "home")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def meters(store: Store) -> SqlMeterRepository:
    return SqlMeterRepository(store)


def hourly(
    n: int = 48,
    start: str = "2024-01-01",
    *,
    tz: str | None = None,
    seed: int = 0,
    covariates: bool = True,
) -> pd.DataFrame:
    """A canonical frame (ns index named timestamp, hourly freq): value and temperature."""
    idx = pd.date_range(start, periods=n, freq="h", tz=tz, name="timestamp", unit="ns")
    values = reading_values(idx)
    frame = pd.DataFrame({"value": values}, index=idx)
    if covariates:
        rng = np.random.default_rng(seed)
        frame["temperature"] = rng.normal(10, 5, n).round(2)
    return frame


def reading_values(idx: pd.DatetimeIndex) -> np.ndarray:
    """The value every test process writes at a time: a function of the time only."""
    hours = idx.as_unit("ns").asi8 // 3_600_000_000_000
    return (hours % 97) * 1.25 + 3.0
