"""A real Dask cluster on loopback for the tests: ``dask scheduler`` and ``dask worker`` as separate
processes, health-checked (the worker has registered), always stopped."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from distributed import Client

from tests.conftest import REPO
from tests.store.pg_server import free_port

START_TIMEOUT_S = 90  # a worker imports pandas and scikit-learn on a busy 2-core box
# the ``dask`` command of the interpreter running the tests (the project's .venv), not PATH's first
DASK = shutil.which("dask", path=str(Path(sys.executable).parent)) or "dask"


class ClusterFailed(RuntimeError):
    """The scheduler or the worker exited or never registered; the message holds their logs."""


@contextmanager
def dask_cluster(root: Path) -> Iterator[str]:
    """Start a scheduler and one single-threaded worker; yields the scheduler's address."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    procs: list[tuple[subprocess.Popen, Path]] = []
    try:
        procs.append(
            _start(
                [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                root / "scheduler.log",
                env,
            )
        )
        procs.append(
            _start(
                [
                    DASK,
                    "worker",
                    address,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--local-directory",
                    str(root / "worker"),
                ],
                root / "worker.log",
                env,
            )
        )
        _wait_for_worker(address, procs)
        yield address
    finally:
        for proc, _ in reversed(procs):
            _stop(proc)


def _start(argv: list[str], log: Path, env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
    with log.open("wb") as out:
        # a session of its own: stopping it stops the worker's nanny and its child process too
        proc = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=out, stderr=out, start_new_session=True
        )
    return proc, log


def _wait_for_worker(address: str, procs: list[tuple[subprocess.Popen, Path]]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        for proc, log in procs:
            if proc.poll() is not None:
                raise ClusterFailed(f"{proc.args[:2]} exited ({proc.returncode}):\n{_tail(log)}")
        try:
            with Client(address, timeout=5) as client:
                client.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
                return
        except (OSError, TimeoutError) as err:
            if time.monotonic() > deadline:
                logs = "\n".join(_tail(log) for _, log in procs)
                raise ClusterFailed(f"no worker in {START_TIMEOUT_S} s ({err}):\n{logs}") from err
            time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""
