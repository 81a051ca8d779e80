"""Worker fixtures: a real LEAD building in a SQLite store, and ``python -m core worker`` as a process.

The data is nine weeks of LEAD building 118 (hourly kWh, spring 2016): the smallest slice that
gives the worker's default policy its eight training weeks plus one week to score. The default
detector (the causal ensemble: Isolation Forest + meter-fault rules) fits in ~0.2 s on it, so the
tests use it as it ships.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from core.store.db import Store, open_store
from core.store.meters import SqlMeterRepository
from tests.conftest import REPO, SHARED_DATA
from tests.store.conftest import db_url, pg_server  # noqa: F401  (SQLite and PostgreSQL)

LEAD_FILE = SHARED_DATA / "lead_dev" / "building_118.csv"
FIRST_DAY = 60  # 1 March 2016: a stretch without long gaps in the source
WEEKS = 9
WORKER_TIMEOUT_S = 120  # one --once pass on a busy 2-core box, imports included


def lead_building(days: int = 7 * WEEKS, first_day: int = FIRST_DAY) -> pd.DataFrame:
    """``days`` of LEAD building 118 as the canonical frame (naive hourly times, kWh)."""
    raw = pd.read_csv(LEAD_FILE, parse_dates=["timestamp"])
    frame = pd.DataFrame(
        {"value": raw["meter_reading"].to_numpy(dtype=float)},
        index=pd.DatetimeIndex(raw["timestamp"], name="timestamp"),
    )
    return frame.iloc[24 * first_day : 24 * (first_day + days)]


@dataclass
class Home:
    """A WattsUp home folder (SQLite database, model cache) that a worker process can be run on."""

    root: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "WATTSUP_HOME": str(self.root / "home"),
            "WATTSUP_MODELS_DIR": str(self.root / "models"),
            "WATTSUP_DATABASE_URL": "",
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }

    @property
    def models(self) -> Path:
        """The model cache of this home (never the repository's ``models/cache``)."""
        return self.root / "models"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'home' / 'wattsup.db'}"

    def store(self) -> Store:
        return open_store(self.db_url, home=self.root / "home")

    def push(self, name: str, frame: pd.DataFrame) -> None:
        store = self.store()
        try:
            SqlMeterRepository(store).import_frame(
                name, frame, unit="kWh", step=pd.Timedelta("1h"), on_conflict="replace"
            )
        finally:
            store.close()

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "core", "worker", *args]

    def once(self, *args: str) -> dict:
        """``python -m core worker --once ARGS`` to its end; its JSON report."""
        done = subprocess.run(
            self.argv("--once", *args),
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT_S,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        report = json.loads(done.stdout.strip().splitlines()[-1])
        report["log"] = done.stderr
        return report

    def start(self, *args: str, log: Path | None = None) -> subprocess.Popen:
        """A long-running worker process (the caller stops it)."""
        out = (log or self.root / "worker.log").open("ab")
        return subprocess.Popen(self.argv(*args), cwd=REPO, env=self.env, stdout=out, stderr=out)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    (tmp_path / "home").mkdir()
    yield Home(tmp_path)


@pytest.fixture(scope="session")
def lead() -> pd.DataFrame:
    if not LEAD_FILE.is_file():
        pytest.fail(f"real data missing: {LEAD_FILE}")
    return lead_building()


def stop(proc: subprocess.Popen, *, kill: bool = False) -> None:
    """Stop a worker process: SIGKILL (a crash) or SIGTERM (a clean stop)."""
    if proc.poll() is None:
        proc.kill() if kill else proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
