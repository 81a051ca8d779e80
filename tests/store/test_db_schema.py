"""The schema: created by the migrations on start, equal to schema.py, refused when newer."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from core.errors import DataError
from core.store.db import check_schema, database_url, open_store, schema_revisions
from core.store.meters import SqlMeterRepository
from core.store.migrations import head_revision
from core.store.schema import SCHEMA_REVISION, metadata
from tests.store.conftest import hourly

TABLES = {"meters", "readings", "uploads", "models", "detection_runs", "events", "labels"}
TABLES |= {"worker_lease", "meter_jobs"}  # the worker (0006_jobs)
TABLES |= {"alert_channels", "alert_rules", "alert_silences", "alert_states"}  # 0002_alerts
TABLES |= {"notifications"}  # 0002_alerts: the log
TABLES |= {"organisations", "users", "memberships", "sessions", "api_keys"}  # 0003_users
TABLES |= {"fleet_runs", "fleet_rows"}  # 0004_fleet
TABLES |= {"model_versions", "current_models"}  # 0005_labels


def test_open_store_creates_every_table_at_head(db_url: str, tmp_path: Path) -> None:
    """Opening an empty database migrates it to the head revision with every documented table."""
    store = open_store(db_url, home=tmp_path)
    assert schema_revisions(store) == (SCHEMA_REVISION, SCHEMA_REVISION)
    assert head_revision() == SCHEMA_REVISION
    assert TABLES | {"alembic_version"} == set(inspect(store.engine).get_table_names())
    store.close()


# SQLite cannot reflect the expression index (owner, name); test_db_meters checks it works
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrated_tables_equal_schema_py(store) -> None:
    """The tables 0001_initial creates are exactly those schema.py describes (no drift)."""
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_from_nothing_then_again_is_a_no_op(db_url: str, tmp_path: Path) -> None:
    """check_schema upgrades an empty database once; the second call finds it at head."""
    store = open_store(db_url, home=tmp_path, upgrade=False)
    assert check_schema(store, upgrade=False) == (None, None)  # left as it was
    assert check_schema(store) == (None, SCHEMA_REVISION)
    assert check_schema(store) == (SCHEMA_REVISION, SCHEMA_REVISION)
    store.close()


def test_reopening_keeps_the_data(db_url: str, tmp_path: Path) -> None:
    """A second open_store on the same database (a restart) finds the rows the first one wrote."""
    first = open_store(db_url, home=tmp_path)
    SqlMeterRepository(first).import_frame("kept", hourly(24))
    first.close()
    again = open_store(db_url, home=tmp_path)
    assert [m.name for m in SqlMeterRepository(again).list()] == ["kept"]
    assert len(SqlMeterRepository(again).load("kept")) == 24
    again.close()


def test_newer_schema_is_refused_with_one_line(db_url: str, tmp_path: Path) -> None:
    """A database stamped by newer code is refused with one DataError line, and left untouched."""
    store = open_store(db_url, home=tmp_path)
    with store.writing() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    store.close()
    with pytest.raises(DataError) as caught:
        open_store(db_url, home=tmp_path)
    message = str(caught.value)
    assert "newer than this WattsUp knows" in message and "9999_future" in message
    assert "\n" not in message
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "9999_future"
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    """Every SQLite connection has WAL journaling, the busy timeout and foreign keys switched on."""
    store = open_store(f"sqlite:///{tmp_path / 'w.db'}", home=tmp_path, timeout=7.5)
    with store.reading() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7500
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def test_default_database_is_a_file_in_wattsup_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without WATTSUP_DATABASE_URL the database is WATTSUP_HOME/wattsup.db, created on open."""
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path / "home"))
    assert database_url() == f"sqlite:///{tmp_path / 'home' / 'wattsup.db'}"
    store = open_store()
    assert (tmp_path / "home" / "wattsup.db").is_file()
    store.close()
