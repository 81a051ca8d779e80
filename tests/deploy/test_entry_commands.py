"""The image's entry commands, run outside Docker the way compose.yaml runs them.

No Docker engine runs here, so this takes each service's command and environment from
compose.yaml (and the image's ENV from the Dockerfile), moves what only exists in a container to
this machine (``python`` -> this interpreter, 0.0.0.0 -> 127.0.0.1, the fixed ports -> free ones,
each volume -> a temporary folder, the ``db`` host -> the session's real PostgreSQL on loopback)
and runs them: the one-shot migration, then the API, the app and the worker side by side, waited
for on the same URL paths and with the same health check script the Dockerfile writes. Every
process is stopped at the end, whatever happened.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from core.store.migrations import head_revision
from tests.conftest import REPO
from tests.deploy import files
from tests.deploy.test_compose import ADDRESS_FLAG, PORT_FLAG, command, role, wattsup_services
from tests.store.conftest import pg_server  # noqa: F401  (the session's PostgreSQL server)
from tests.store.pg_server import LocalPostgres, free_port

START_TIMEOUT_S = 120  # a hang guard: the API imports scikit-learn and TensorFlow on a 2-core box
POLL_S = 0.5
NOT_IN_A_CONTAINER = {"PATH", "BROWSER_PATH"}  # the venv's PATH; Chromium where the OS has it


@pytest.fixture
def database(pg_server: LocalPostgres) -> Iterator[str]:  # noqa: F811
    """A fresh, empty database on the session's PostgreSQL server; dropped afterwards."""
    name = f"deploy_{uuid.uuid4().hex[:12]}"
    pg_server.create_database(name)
    try:
        yield name
    finally:
        pg_server.drop_database(name)


class Stack:
    """compose.yaml's services of the image, ready to run on this machine."""

    def __init__(self, root: Path, server: LocalPostgres, database: str) -> None:
        self.root = root
        self.doc = files.compose()
        self.run_stage = files.image()
        check_cmd, script = files.healthcheck(self.run_stage)
        self.urls = files.health_urls(script)
        self.ports = {r: free_port() for r in self.urls}
        for r, url in self.urls.items():  # the script, listening where the servers here listen
            script = script.replace(url, self.url(r))
        self.check = root / "healthcheck.py"
        self.check.write_text(script)
        self.check_cmd = [self._path(a) for a in check_cmd]
        self.server, self.database = server, database
        self.procs: list[subprocess.Popen] = []

    def service(self, r: str) -> dict[str, Any]:
        (found,) = [s for s in wattsup_services(self.doc).values() if role(s) == r]
        return found

    def url(self, r: str) -> str:
        path = "/" + self.urls[r].split("/", 3)[3]
        return f"http://127.0.0.1:{self.ports[r]}{path}"

    def _mounts(self, r: str) -> dict[str, Path]:
        """Container path -> folder here: each named volume of the service, and the code."""
        mounts = {"/app": REPO}
        for mount in self.service(r).get("volumes", []):
            source, target = mount.split(":")[:2]
            mounts[target] = self.root / source
        return mounts

    def _path(self, value: str, r: str = "app") -> str:
        if value == files.HEALTHCHECK_PATH:
            return str(self.check)
        if value == "python":
            return sys.executable
        for target, here in sorted(self._mounts(r).items(), key=lambda m: -len(m[0])):
            if value == target or value.startswith(target + "/"):
                return str(here) + value[len(target) :]
        return value

    def env(self, r: str) -> dict[str, str]:
        """This machine's environment without WATTSUP_ settings, then the image's ENV, then the
        service's environment, with container paths moved and the database on loopback."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("WATTSUP_")}
        image = files.image_env(self.run_stage)
        for key, value in image.items():
            if key not in NOT_IN_A_CONTAINER:
                env[key] = self._path(value, r)
        for key in ("WATTSUP_HOME", "WATTSUP_MODELS_DIR"):  # each must live in a mounted volume
            assert env[key] != image[key], (
                f"{key}={image[key]} is not in a volume of the {r} service"
            )
        env.update({k: self._path(str(v), r) for k, v in self.service(r)["environment"].items()})
        url = make_url(env["WATTSUP_DATABASE_URL"])
        assert url.host == "db", url  # the compose service, moved here
        env["WATTSUP_DATABASE_URL"] = url.set(
            host="127.0.0.1", port=self.server.port, database=self.database
        ).render_as_string(hide_password=False)
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        return env

    def argv(self, r: str) -> list[str]:
        argv = [self._path(a, r) for a in command(self.service(r))]
        if r in PORT_FLAG:
            argv[argv.index(PORT_FLAG[r]) + 1] = str(self.ports[r])
            argv[argv.index(ADDRESS_FLAG[r]) + 1] = "127.0.0.1"
        assert "0.0.0.0" not in argv, argv
        return argv

    def start(self, r: str) -> subprocess.Popen:
        log = (self.root / f"{r}.log").open("wb")
        proc = subprocess.Popen(self.argv(r), cwd=REPO, env=self.env(r), stdout=log, stderr=log)
        log.close()
        self.procs.append(proc)
        return proc

    def run(self, r: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.argv(r), *extra],
            cwd=REPO,
            env=self.env(r),
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        )

    def healthy(self, r: str) -> bool:
        """The Dockerfile's HEALTHCHECK for role ``r``: exit 0 healthy, 1 not."""
        proc = subprocess.run(
            self.check_cmd, cwd=REPO, env=self.env(r), capture_output=True, timeout=60
        )
        assert proc.returncode in (0, 1), proc.stderr  # Docker reserves 2
        return proc.returncode == 0

    def log(self, r: str) -> str:
        path = self.root / f"{r}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self, proc: subprocess.Popen) -> int:
        """SIGTERM, as ``docker stop`` sends, then SIGKILL after the grace period."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        return proc.returncode

    def stop_all(self) -> None:
        for proc in self.procs:
            self.stop(proc)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_until(ready, procs: dict[str, subprocess.Popen], stack: Stack, what: str) -> None:
    """Poll ``ready()`` until true; fail at once when one of ``procs`` exits, or at the deadline."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready():
        for r, proc in procs.items():
            if proc.poll() is not None:
                pytest.fail(f"the {r} exited ({proc.returncode}) before {what}:\n{stack.log(r)}")
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {r}\n{stack.log(r)}" for r in procs)
            pytest.fail(f"no {what} in {START_TIMEOUT_S} s:\n{logs}")
        time.sleep(POLL_S)


def test_the_stack_migrates_once_then_serves_and_works(
    tmp_path: Path,
    pg_server: LocalPostgres,  # noqa: F811
    database: str,
) -> None:
    """compose.yaml's migrate command brings the empty database to the head; ``worker --once``
    does a pass and exits 0; the API answers /healthz and the app /_stcore/health (and the image's
    health check says healthy for each, not before); the long-running worker takes its lease
    (healthy), and stops on SIGTERM releasing it (unhealthy)."""
    stack = Stack(tmp_path, pg_server, database)
    try:
        migrated = stack.run("migrate")
        assert migrated.returncode == 0, migrated.stderr
        assert f"upgraded from empty to schema revision {head_revision()}" in migrated.stdout
        assert "PostgreSQL" in migrated.stdout
        assert not stack.healthy("api") and not stack.healthy("app")  # nothing listens yet

        procs = {r: stack.start(r) for r in ("api", "app")}
        once = stack.run("worker", "--once")  # while the servers import their libraries
        assert once.returncode == 0, once.stderr
        report = json.loads(once.stdout.strip().splitlines()[-1])
        assert report["standing_by"] is False and report["errors"] == {}
        procs["worker"] = stack.start("worker")

        wait_until(lambda: answers(stack.url("api")), procs, stack, "healthy API")
        wait_until(lambda: answers(stack.url("app")), procs, stack, "healthy app")
        assert stack.healthy("api") and stack.healthy("app")
        with urllib.request.urlopen(stack.url("api"), timeout=5) as answer:
            health = json.load(answer)
        assert health == {
            "status": "ok",
            "database": "postgresql",
            "schema_revision": head_revision(),
        }

        wait_until(lambda: stack.healthy("worker"), procs, stack, "worker holding its lease")
        assert stack.stop(procs["worker"]) == 0, stack.log("worker")
        assert "released the lease" in stack.log("worker")
        assert not stack.healthy("worker")
    finally:
        stack.stop_all()
