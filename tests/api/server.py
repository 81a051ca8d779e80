"""A real ``python -m core serve`` process on a free 127.0.0.1 port, health-checked, always stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import REPO
from tests.store.pg_server import free_port

START_TIMEOUT_S = 90  # importing pandas, scikit-learn and the detectors on a busy 2-core box
BODY_LIMIT_MB = 1  # small, so the oversized-body tests send little
BATCH_LIMIT = 2_000  # readings per push; the tests push at most 1,008 at once


class ServerFailed(RuntimeError):
    """The server exited or never answered /healthz; the message holds its log."""


@dataclass
class ApiServer:
    """A running server: its URL, its database and its log."""

    url: str
    db_url: str
    home: Path
    log: Path
    dialect: str

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)


@contextmanager
def api_server(
    db_url: str,
    root: Path,
    dialect: str,
    *,
    env: dict[str, str] | None = None,
    workers: int = 1,
    app: str | None = None,
) -> Iterator[ApiServer]:
    """Start the server on ``db_url`` (blobs and models under ``root``); stop it on exit.
    ``env`` overrides the test limits (the benchmarks run with the defaults); ``workers`` server
    processes; ``app``: another ASGI app (``module:attribute``) served by uvicorn instead, e.g.
    the benchmarks' bare body parser."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = root / "server.log"
    env = {
        **os.environ,
        "WATTSUP_DATABASE_URL": db_url,
        "WATTSUP_HOME": str(root / "home"),
        "WATTSUP_MODELS_DIR": str(root / "models"),
        "WATTSUP_API_MAX_BODY_MB": str(BODY_LIMIT_MB),
        "WATTSUP_API_MAX_BATCH": str(BATCH_LIMIT),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        **(env or {}),
    }
    argv = [sys.executable, "-m", "core", "serve", "--workers", str(workers)]
    if app is not None:
        argv = [sys.executable, "-m", "uvicorn", app]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*argv, "--log-level", "warning"], cwd=REPO, env=env, stdout=out, stderr=out
        )
    server = ApiServer(f"http://127.0.0.1:{port}", db_url, root / "home", log, dialect)
    try:
        _wait_healthy(server, proc)
        yield server
    finally:
        _stop(proc)


def _wait_healthy(server: ApiServer, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(base_url=server.url, timeout=5) as client:
        while True:
            if proc.poll() is not None:
                raise ServerFailed(f"the server exited ({proc.returncode}):\n{_tail(server.log)}")
            try:
                if client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ServerFailed(
                    f"no healthy answer in {START_TIMEOUT_S} s:\n{_tail(server.log)}"
                )
            time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown: the lifespan closes the store
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""
