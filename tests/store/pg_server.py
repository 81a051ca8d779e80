"""A throwaway PostgreSQL server on 127.0.0.1 for the store's tests and benchmarks.

Debian's binaries (``/usr/lib/postgresql/<version>/bin``, the ``postgresql`` package that
``scripts/test.sh`` installs when missing; ``/usr/local/bin/initdb`` on the CI image is a link to
them), ``initdb`` into a temporary folder, ``pg_ctl start`` on a free loopback port with the socket in
that folder, a real connection as the health check, and ``pg_ctl stop`` at the end whatever happened.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user and owns
its folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "wattsup"  # the superuser initdb creates; trust authentication, loopback only
START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries, or the server would not start: the message says which."""


def bin_dir() -> Path:
    """The newest Debian PostgreSQL ``bin`` folder (with initdb and pg_ctl)."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    on_path = shutil.which("initdb")
    if on_path:  # e.g. /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb
        found.append(str(Path(on_path).resolve()))
    found = [f for f in found if os.access(f, os.X_OK) and Path(f).with_name("pg_ctl").exists()]
    if not found:
        raise PostgresUnavailable(
            "no PostgreSQL server binaries (initdb, pg_ctl): install Debian's postgresql package "
            "(scripts/test.sh does)"
        )

    def version(path: str) -> tuple[int, ...]:
        match = re.search(r"/postgresql/([\d.]+)/", path)
        return tuple(int(p) for p in match.group(1).split(".")) if match else (0,)

    return Path(max(found, key=version)).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalPostgres:
    """A running server: ``url(db)`` for SQLAlchemy; create and drop databases."""

    port: int
    root: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=USER,
            dbname=database,
            connect_timeout=5,
            autocommit=True,
        )

    def create_database(self, name: str) -> str:
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root and there is no postgres user to run the server as"
        ) from None
    return ["runuser", "-u", "postgres", "--", *argv]


def _run(argv: list[str], cwd: Path) -> None:
    proc = subprocess.run(
        _as_server_user(argv), cwd=cwd, capture_output=True, text=True, timeout=START_TIMEOUT_S
    )
    if proc.returncode != 0:
        raise PostgresUnavailable(
            f"{Path(argv[0]).name} failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-1500:]}"
        )


@contextmanager
def local_postgres(*, durable: bool = False) -> Iterator[LocalPostgres]:
    """Start a server in a temporary folder; stop it and remove the folder on exit.

    ``durable=False`` (tests) turns fsync off: a crash of the machine would lose the server, which
    a throwaway one does not mind. Benchmarks pass ``durable=True`` to measure the real thing.
    """
    bins = bin_dir()
    # under /tmp, not pytest's tmp_path: that lives in a root-only (0700) folder the server can't enter
    root = Path(tempfile.mkdtemp(prefix="wattsup-pg-"))
    data, log = root / "data", root / "server.log"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    started = False
    try:
        _run(
            [str(bins / "initdb"), "-D", str(data), "-U", USER, "-A", "trust", "-E", "UTF8"]
            + ["--no-locale", "--no-sync"],
            root,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root}"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        started = True
        try:
            _run(
                [str(bins / "pg_ctl"), "-D", str(data), "-l", str(log), "-w"]
                + ["-t", str(START_TIMEOUT_S), "-o", options, "start"],
                root,
            )
        except PostgresUnavailable as err:
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise PostgresUnavailable(f"{err}\n{tail}") from None
        server = LocalPostgres(port, root)
        _wait_until_ready(server, log)
        yield server
    finally:
        if started:
            _stop(bins, data, root)
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_ready(server: LocalPostgres, log: Path) -> None:
    """A real connection and query over TCP, retried until it works or the deadline passes."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with server.connect() as conn:
                conn.execute("SELECT 1").fetchone()
            return
        except Exception as err:  # noqa: BLE001 - any failure means not ready yet
            if time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                raise PostgresUnavailable(f"server never answered: {err}\n{tail}") from None
            time.sleep(0.1)


def _stop(bins: Path, data: Path, root: Path) -> None:
    for mode in ("fast", "immediate"):
        proc = subprocess.run(
            _as_server_user([str(bins / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "stop"]),
            cwd=root,
            capture_output=True,
            timeout=START_TIMEOUT_S,
        )
        if proc.returncode == 0:
            return
