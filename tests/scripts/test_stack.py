"""``bash scripts/stack.sh start|status|stop``: the app, the API and the worker as real processes on
the embedded database, health-checked, and stopped cleanly (no process left behind)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.store.pg_server import free_port

STACK = REPO / "scripts" / "stack.sh"


def stack(command: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(STACK), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie has exited; /proc tells
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("WATTSUP_") or k == "WATTSUP_HOME"
    }
    env.update(
        WATTSUP_HOME=str(tmp_path / "home"),
        # the interpreter running the tests is the project's environment: no second install
        WATTSUP_VENV=sys.prefix,
        WATTSUP_APP_PORT=str(free_port()),
        WATTSUP_API_PORT=str(free_port()),
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    return env


def test_stack_starts_three_healthy_processes_on_the_embedded_database_and_stops_them(stack_env):
    home = Path(stack_env["WATTSUP_HOME"])
    api = f"http://127.0.0.1:{stack_env['WATTSUP_API_PORT']}"
    app = f"http://127.0.0.1:{stack_env['WATTSUP_APP_PORT']}"
    pids: dict[str, int] = {}
    try:
        started = stack("start", stack_env)
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"{app}" in started.stdout and f"{api}/docs" in started.stdout
        pids = {n: int((home / "stack" / f"{n}.pid").read_text()) for n in ("app", "api", "worker")}
        assert all(alive(p) for p in pids.values()), pids

        with urllib.request.urlopen(f"{api}/healthz", timeout=10) as r:
            assert r.status == 200
            health = json.loads(r.read())
        assert health.get("status") == "ok", health
        with urllib.request.urlopen(f"{app}/_stcore/health", timeout=10) as r:
            assert r.status == 200
        # the embedded database: the SQLite file under WATTSUP_HOME, migrated before the three start
        assert (home / "wattsup.db").is_file()

        status = stack("status", stack_env, timeout=30)
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.count(" runs (pid ") == 3, status.stdout

        again = stack("start", stack_env)  # a second start does not start a second set
        assert again.returncode == 0, again.stdout + again.stderr
        assert again.stdout.count("already runs") == 3, again.stdout
    finally:
        stopped = stack("stop", stack_env, timeout=120)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert stopped.stdout.count("stopped") == 3, stopped.stdout
    assert not any(alive(p) for p in pids.values()), pids
    assert "killing" not in stopped.stderr, stopped.stderr  # each stopped on SIGTERM
    status = stack("status", stack_env, timeout=30)
    assert status.returncode == 3 and status.stdout.count("stopped") == 3, status.stdout


def test_stack_refuses_an_unknown_command(stack_env):
    result = stack("restart-everything", stack_env, timeout=30)
    assert result.returncode == 2
    assert "usage: bash scripts/stack.sh start|stop|status" in result.stderr
