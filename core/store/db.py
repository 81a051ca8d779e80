"""The database: which one, opening it (upgraded to the schema head), and one-line errors.

=========================  ======================  ==================================================
variable                   default                 meaning
=========================  ======================  ==================================================
``WATTSUP_DATABASE_URL``   (none)                  a server database, e.g.
                                                   ``postgresql+psycopg://user:pw@host:5432/wattsup``
``WATTSUP_HOME``           ``~/.wattsup``          the SQLite file ``wattsup.db`` when no URL is set,
                                                   and ``blobs/<sha256>``: the original uploads
``WATTSUP_DB_TIMEOUT_S``   ``30``                  how long to wait for another process's lock
=========================  ======================  ==================================================

SQLite runs in WAL mode (readers never wait for the writer) with a busy timeout, and every write
transaction starts with ``BEGIN IMMEDIATE``: writers queue for the lock at the start instead of
failing half-way. On PostgreSQL the same wait is ``lock_timeout``. Whatever goes wrong underneath (a
server that cannot be reached, a database that does not exist, a lock held past the timeout, a schema
newer than this code) comes out of ``Store.reading`` / ``Store.writing`` / ``open_store`` as one
:class:`DatabaseError` line (a :class:`~core.errors.DataError`) that says what to do, never a
traceback. A meter, run or event that is not stored is a :class:`NotFoundError` (also a DataError),
so a front door can tell "no such thing" and "the database failed" from bad input.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import URL, Connection, Engine, make_url

from core.errors import DataError
from core.store.migrations import current_revision, head_revision, is_known, upgrade_to_head

URL_VAR = "WATTSUP_DATABASE_URL"
HOME_VAR = "WATTSUP_HOME"
TIMEOUT_VAR = "WATTSUP_DB_TIMEOUT_S"
DB_FILE = "wattsup.db"
# 30 s: an import of a million readings takes a few seconds; a lock held longer is a stuck process
DEFAULT_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5  # an unreachable server is reported after this, not after TCP's minutes
MIGRATION_LOCK = 7_301_011  # PostgreSQL advisory lock key: one process migrates at a time
_WRITE = "wattsup_write"  # execution option: this transaction will write (SQLite: BEGIN IMMEDIATE)


def home_dir() -> Path:
    """``WATTSUP_HOME``, else ``~/.wattsup``."""
    return Path(os.environ.get(HOME_VAR) or Path.home() / ".wattsup").expanduser()


def database_url(home: Path | None = None) -> str:
    """``WATTSUP_DATABASE_URL``, else the SQLite file in the home folder."""
    url = os.environ.get(URL_VAR, "").strip()
    if url:
        return url
    return f"sqlite:///{(home or home_dir()) / DB_FILE}"


def timeout_s() -> float:
    """``WATTSUP_DB_TIMEOUT_S`` (seconds > 0), else 30."""
    raw = os.environ.get(TIMEOUT_VAR, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise DataError(f"{TIMEOUT_VAR} takes a number of seconds > 0, got {raw!r}.")
    return value


class DatabaseError(DataError):
    """The database itself failed (unreachable, locked, refused the login, damaged): not the input."""


class NotFoundError(DataError):
    """No stored meter, run or event by that name or id (the message lists what is stored)."""


@dataclass
class Store:
    """An open database. ``reading()`` / ``writing()`` give a connection inside one transaction."""

    engine: Engine
    home: Path
    timeout_s: float

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @property
    def where(self) -> str:
        """The database in words, password hidden: for messages."""
        return describe(self.engine.url)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read transaction (on SQLite a snapshot that never waits for writers)."""
        with self._transaction(write=False) as conn:
            yield conn

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self._transaction(write=True) as conn:
            yield conn

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{_WRITE: write})
                with conn.begin():
                    yield conn
        except exc.DBAPIError as err:
            raise as_data_error(err, self) from err

    def close(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()


def open_store(
    url: str | None = None,
    *,
    home: Path | None = None,
    upgrade: bool = True,
    timeout: float | None = None,
) -> Store:
    """Open the database (the environment's by default) and bring its schema to the head.

    Parameters
    ----------
    url
        SQLAlchemy URL; default ``database_url()``. ``postgresql://`` means ``postgresql+psycopg://``.
    home
        Folder for the SQLite file and the upload blobs; default ``home_dir()``.
    upgrade
        Migrate an older schema (default). With False an older schema is left as it is.
    timeout
        Seconds to wait for another process's lock; default ``timeout_s()``.
    """
    home = home or home_dir()
    wait = timeout if timeout is not None else timeout_s()
    store = Store(make_engine(url or database_url(home), wait), home, wait)
    check_schema(store, upgrade=upgrade)
    return store


def make_engine(url: str, wait_s: float) -> Engine:
    """An engine for ``url`` with the lock wait, connect timeout and SQLite pragmas set."""
    parsed = _parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed, wait_s)
        args = {}
        if parsed.get_backend_name() == "postgresql":
            ms = int(wait_s * 1000)
            args = {"connect_timeout": CONNECT_TIMEOUT_S, "options": f"-c lock_timeout={ms}"}
        return create_engine(parsed, connect_args=args, pool_pre_ping=True)
    except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as err:
        raise DataError(f"cannot use the database URL {_hidden(parsed)}: {err}") from err


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except exc.ArgumentError as err:
        raise DataError(
            f"{URL_VAR} is not a database URL ({err}); "
            "use e.g. postgresql+psycopg://user:password@host:5432/wattsup"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver we ship
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DataError(
            f"{_hidden(parsed)}: WattsUp stores its data in SQLite or PostgreSQL, "
            f"not {parsed.get_backend_name()}."
        )
    return parsed


def _sqlite_engine(url: URL, wait_s: float) -> Engine:
    if url.database and url.database != ":memory:":
        try:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DataError(
                f"cannot create the folder of {describe(url)}: {err.strerror}; "
                f"set {HOME_VAR} to a writable folder."
            ) from err
    engine = create_engine(url, connect_args={"timeout": wait_s, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        # pysqlite's own transaction handling would BEGIN (deferred) lazily before the first write;
        # it is switched off so that _begin below says how each transaction starts
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(wait_s * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")  # durable at each checkpoint; safe in WAL mode
        cur.execute("PRAGMA foreign_keys = ON")  # ON DELETE CASCADE needs it
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # a deferred transaction that reads and then writes cannot wait for the lock (SQLite
        # answers "locked" at once when another writer committed in between): writers lock first
        mode = "IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


# ---- the schema revision -------------------------------------------------------------------------
def schema_revisions(store: Store) -> tuple[str | None, str]:
    """(the database's revision or None when empty, the head this code knows)."""
    with store.reading() as conn:
        return current_revision(conn), head_revision()


def check_schema(store: Store, *, upgrade: bool = True) -> tuple[str | None, str | None]:
    """Refuse a schema newer than the code; migrate an older one. Returns (before, after)."""
    before, head = schema_revisions(store)
    _refuse_newer(store, before)
    if before == head or not upgrade:
        return before, before
    with store.writing() as conn:
        if store.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        now = current_revision(conn)  # another process may have migrated while we waited
        _refuse_newer(store, now)
        if now != head:
            upgrade_to_head(conn)
    return before, head


def _refuse_newer(store: Store, revision: str | None) -> None:
    if revision is not None and not is_known(revision):
        raise DataError(
            f"{store.where} has schema revision {revision}, newer than this WattsUp knows "
            f"({head_revision()}): upgrade WattsUp, or point {URL_VAR} at another database."
        )


# ---- errors in one line -----------------------------------------------------------------------
def describe(url: URL) -> str:
    """``the SQLite database /path/wattsup.db`` or ``the PostgreSQL database db on host:port``."""
    if url.get_backend_name() == "sqlite":
        return f"the SQLite database {url.database or ':memory:'}"
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    return f"the PostgreSQL database {url.database or '(default)'} on {where}"


def _hidden(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def as_data_error(err: exc.DBAPIError, store: Store) -> DatabaseError:
    """One line for a driver error: what happened to which database, and what to do."""
    orig = err.orig if err.orig is not None else err
    line = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    state = getattr(orig, "sqlstate", None)
    where = store.where
    wait = f"{store.timeout_s:g} s"
    if store.dialect == "sqlite":
        lowered = line.lower()
        if "locked" in lowered or "busy" in lowered:
            return DatabaseError(
                f"{where} is locked by another process for more than {wait}: try again when it "
                f"is done, or raise {TIMEOUT_VAR}."
            )
        if "unable to open" in lowered:
            return DatabaseError(
                f"cannot open {where}: check that its folder exists and is writable ({HOME_VAR})."
            )
        if "not a database" in lowered or "malformed" in lowered:
            return DatabaseError(
                f"{where} is damaged or not a database ({line}): move it away to start afresh."
            )
        return DatabaseError(f"{where} failed: {line}")
    if state == "55P03":  # lock_not_available: lock_timeout passed
        return DatabaseError(
            f"{where} is locked by another session for more than {wait}: try again when it is "
            f"done, or raise {TIMEOUT_VAR}."
        )
    # libpq's connection errors carry no SQLSTATE: "connection to server at ... failed: <why>"
    why = re.sub(r"^FATAL:\s*", "", line.rsplit(" failed: ", 1)[-1])
    if state == "3D000" or re.search(r'database ".*" does not exist', why):
        return DatabaseError(f"{where} does not exist: create it (createdb) or fix {URL_VAR}.")
    if state in ("28000", "28P01") or re.search(r'role ".*" does not exist|authentication', why):
        return DatabaseError(
            f"{where} refused the login ({why}): fix the user or password in {URL_VAR}."
        )
    if isinstance(err, exc.OperationalError) and state is None:
        return DatabaseError(f"cannot reach {where} ({why}): start the server or fix {URL_VAR}.")
    return DatabaseError(f"{where} failed: {line}")
