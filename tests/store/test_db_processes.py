"""Real processes on one database: concurrent appends lose and duplicate nothing; a kill rolls back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select

from core.store.meters import SqlMeterRepository
from core.store.schema import readings
from tests.conftest import REPO
from tests.store.conftest import reading_values
from tests.store.import_worker import frame

WAIT_S = 120


def _worker(*args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.import_worker", *map(str, args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(paths: list[Path], procs: list[subprocess.Popen]) -> None:
    """Until every path exists; fails at once if a worker died first."""
    deadline = time.monotonic() + WAIT_S
    while not all(p.exists() for p in paths):
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"worker exited early: {proc.communicate()}")
        assert time.monotonic() < deadline, f"timed out waiting for {paths}"
        time.sleep(0.02)


def test_two_processes_appending_lose_and_duplicate_nothing(
    db_url: str, store, tmp_path: Path
) -> None:
    """Two processes import 10,000 overlapping readings each into one meter at once: every hour once."""
    ready = [tmp_path / "ready-a", tmp_path / "ready-b"]
    go = tmp_path / "go"
    home = tmp_path / "home"
    procs = [
        _worker("append", db_url, home, "shared", 0, 10_000, 500, ready[0], go),
        _worker("append", db_url, home, "shared", 5_000, 10_000, 500, ready[1], go),
    ]
    try:
        _wait_for(ready, procs)
        go.touch()
        outputs = [proc.communicate(timeout=WAIT_S) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    totals = [json.loads(out) for out, _ in outputs]
    assert sum(t["inserted"] for t in totals) == 15_000  # exact counts, even interleaved
    assert sum(t["unchanged"] for t in totals) == 5_000
    assert sum(t["conflicting"] for t in totals) == 0
    back = SqlMeterRepository(store).load("shared")
    expected = frame(0, 15_000).index
    assert back.index.equals(expected)
    assert (back["value"].to_numpy() == reading_values(expected)).all()
    with store.reading() as conn:
        assert conn.scalar(select(func.count()).select_from(readings)) == 15_000


def test_a_process_killed_mid_import_leaves_the_database_as_before(
    db_url: str, store, tmp_path: Path
) -> None:
    """SIGKILL inside the import's transaction (after its writes) leaves every reading as it was."""
    repo = SqlMeterRepository(store)
    before = frame(0, 1_000)
    repo.import_frame("m", before)
    marker = tmp_path / "inside-the-transaction"
    proc = _worker("hang", db_url, tmp_path / "home", "m", 500, 1_000, marker)
    try:
        _wait_for([marker], [proc])
        assert int(marker.read_text()) == 500  # the 500 overlapping readings were rewritten
        pd.testing.assert_frame_equal(repo.load("m"), before)  # uncommitted: invisible to others
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=WAIT_S)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    pd.testing.assert_frame_equal(repo.load("m"), before)
    assert repo.get("m").readings == 1_000
    # and the lock died with it: the next import goes through
    assert repo.import_frame("m", frame(1_000, 10)).inserted == 10
