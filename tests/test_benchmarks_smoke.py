"""The benchmark runner works end to end on tiny inputs (timing targets live in benchmarks/, not here)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.golden  # reads the real files in ../shared/data


def test_smoke_run_writes_the_page_and_plots(tmp_path: Path) -> None:
    """`python -m benchmarks --smoke` finishes in under a minute and writes tables and PNGs."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--smoke",
            "--only",
            "quality,speed,scaling",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        env={**os.environ, "WATTSUP_BENCH_NO_INSTALL": "1"},  # a test installs nothing
        capture_output=True,
        text=True,
        timeout=180,
    )
    took = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert took < 90, f"smoke run took {took:.0f} s"
    page = (tmp_path / "benchmarks.md").read_text()
    assert "cores" in page and "Python 3" in page  # the machine header
    assert "| **ensemble** |" in page  # our default detector has a quality row
    assert "PyOD IForest (features)" in page and "PyOD IForest (windows)" in page
    if importlib.util.find_spec("pyod") is None:
        assert "not run: PyOD not installed" in page
    assert "random scores" in page  # the random baseline sits beside every table
    assert "isolation_forest" in page and "x |" in page  # a speed ratio
    assert "score slope" in page
    for png in ("bench_quality.png", "bench_scaling.png"):
        assert (tmp_path / "img" / png).stat().st_size > 1000


def test_load_smoke_drives_a_real_server_and_writes_its_table(tmp_path: Path) -> None:
    """`python -m benchmarks --smoke --only load` starts the app, opens and moves the detection
    page from one and two light sessions (with and without an upload beside them), stops the
    server and writes the table."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--only", "load", "--out", str(tmp_path)],
        cwd=REPO,
        env={**os.environ, "WATTSUP_BENCH_NO_INSTALL": "1"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    took = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert took < 150, f"load smoke run took {took:.0f} s"
    page = (tmp_path / "benchmarks.md").read_text()
    section = page[page.index("## load (`benchmarks/load.py`)") :]
    assert "Status: ok" in section and "slider p95 s" in section and "server peak RSS MB" in section
    rows = [line for line in section.splitlines() if line.startswith("| 2 |")]
    assert len(rows) == 2 and any("| yes |" in r and "rows read" in r for r in rows), rows
    assert "**fail**" not in section
