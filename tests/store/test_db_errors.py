"""What goes wrong underneath comes out as one DataError line that says what to do."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from core.errors import DataError
from core.store.db import open_store
from core.store.meters import SqlMeterRepository
from tests.store.conftest import hourly
from tests.store.pg_server import LocalPostgres, free_port


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_unreachable_server(tmp_path: Path) -> None:
    """A PostgreSQL URL where nothing listens says it cannot reach the server, within seconds."""
    url = f"postgresql+psycopg://wattsup@127.0.0.1:{free_port()}/wattsup"
    with pytest.raises(DataError) as caught:
        open_store(url, home=tmp_path)
    message = _one_line(caught)
    assert message.startswith("cannot reach the PostgreSQL database wattsup on 127.0.0.1:")
    assert "start the server or fix WATTSUP_DATABASE_URL" in message


def test_missing_postgres_database(pg_server: LocalPostgres, tmp_path: Path) -> None:
    """A database that does not exist on a running server is named, with createdb as the fix."""
    with pytest.raises(DataError) as caught:
        open_store(pg_server.url("no_such_db"), home=tmp_path)
    assert "no_such_db" in _one_line(caught) and "createdb" in str(caught.value)


def test_password_is_never_shown(tmp_path: Path) -> None:
    """A message about a URL with a password leaves the password out."""
    url = f"postgresql://bob:s3cret@127.0.0.1:{free_port()}/db"
    with pytest.raises(DataError) as caught:
        open_store(url, home=tmp_path)
    assert "s3cret" not in _one_line(caught)


@pytest.mark.parametrize(
    "url, words",
    [
        ("not a url", "is not a database URL"),
        ("mysql://u@h/db", "SQLite or PostgreSQL, not mysql"),
    ],
)
def test_unusable_urls(url: str, words: str, tmp_path: Path) -> None:
    """A URL that is not one, or names another engine, is refused in one line."""
    with pytest.raises(DataError, match=words) as caught:
        open_store(url, home=tmp_path)
    _one_line(caught)


def test_lock_held_past_the_timeout(db_url: str, tmp_path: Path) -> None:
    """An import that waits longer than the timeout for another process's lock gives up in one line."""
    store = open_store(db_url, home=tmp_path, timeout=0.3)
    repo = SqlMeterRepository(store)
    repo.import_frame("m", hourly(5))
    if store.dialect == "sqlite":
        holder = sqlite3.connect(make_url(db_url).database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        holder = psycopg.connect(db_url.replace("+psycopg", ""))
        holder.execute("LOCK TABLE readings IN ACCESS EXCLUSIVE MODE")
    try:
        started = time.monotonic()
        with pytest.raises(DataError) as caught:
            repo.import_frame("m", hourly(10))
        waited = time.monotonic() - started
    finally:
        holder.rollback() if store.dialect == "postgresql" else holder.execute("ROLLBACK")
        holder.close()
    message = _one_line(caught)
    assert "is locked by another" in message and "more than 0.3 s" in message
    assert waited >= 0.25  # it waited for the lock, it did not give up at once
    assert len(repo.load("m")) == 5  # and wrote nothing
    assert repo.import_frame("m", hourly(10)).inserted == 5  # works once the lock is gone
    store.close()


def test_damaged_sqlite_file(tmp_path: Path) -> None:
    """A file that is not a SQLite database is reported as damaged, not as a traceback."""
    path = tmp_path / "wattsup.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DataError, match="damaged or not a database") as caught:
        open_store(f"sqlite:///{path}", home=tmp_path)
    _one_line(caught)


def test_home_that_cannot_be_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WATTSUP_HOME under a regular file cannot hold the database: one line says to set it."""
    (tmp_path / "file").write_text("x")
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path / "file" / "home"))
    with pytest.raises(DataError, match="WATTSUP_HOME") as caught:
        open_store()
    _one_line(caught)


def test_bad_timeout_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WATTSUP_DB_TIMEOUT_S that is not a positive number is refused by name."""
    monkeypatch.setenv("WATTSUP_DB_TIMEOUT_S", "soon")
    with pytest.raises(DataError, match="WATTSUP_DB_TIMEOUT_S"):
        open_store(f"sqlite:///{tmp_path / 'x.db'}", home=tmp_path)
