"""The database: import 1,000,000 readings (rows/s) and load one meter-year (ms), SQLite and PostgreSQL.

Targets (issue 11): at least 100,000 readings/s imported and one meter-year of hourly readings loaded
in under 100 ms, on both engines. ``python -m benchmarks.store`` prints one row per case.

Each engine gets a fresh database: a SQLite file in a temporary folder, and a PostgreSQL database
on ``WATTSUP_BENCH_POSTGRES_URL`` when set (a server database URL; it must be empty), else on a
throwaway server started like the tests' (``tests/store/pg_server.py``, fsync on: the real thing).
The readings are a 15-minute meter with an outdoor temperature, rounded as meters report them (3
decimals, 0.1 degree), from 2000-01-01; the year is 8,760 hourly readings with temperature. Times
are wall clock around ``SqlMeterRepository.import_frame`` / ``load``: validation, conversion and the
transaction included. The re-import of the same million is the idempotent path (nothing written).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from core.store.db import open_store
from core.store.meters import SqlMeterRepository

ROWS = 1_000_000
YEAR = 8_760
IMPORT_TARGET = 100_000  # readings per second
LOAD_TARGET_MS = 100.0
URL_VAR = "WATTSUP_BENCH_POSTGRES_URL"


def readings(rows: int, freq: str = "15min", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2000-01-01", periods=rows, freq=freq, name="timestamp", unit="ns")
    hour = idx.hour.to_numpy() + idx.minute.to_numpy() / 60
    value = 20 + 10 * np.sin(2 * np.pi * hour / 24) + rng.normal(0, 1, rows)
    temp = 12 + 8 * np.sin(2 * np.pi * (hour - 9) / 24) + rng.normal(0, 0.5, rows)
    return pd.DataFrame({"value": value.round(3), "temperature": temp.round(1)}, index=idx)


@contextlib.contextmanager
def _postgres_url() -> Iterator[str]:
    given = os.environ.get(URL_VAR, "").strip()
    if given:
        yield given
        return
    from tests.store.pg_server import local_postgres

    with local_postgres(durable=True) as server:
        yield server.create_database("bench")


def _engine_rows(engine: str, url: str, home: Path, rows: int) -> list[dict]:
    store = open_store(url, home=home)
    repo = SqlMeterRepository(store)
    big, year = readings(rows), readings(YEAR, "1h", seed=1)
    out = []
    for case, meter in (("import", "bench"), ("re-import (no change)", "bench")):
        t0 = time.perf_counter()
        result = repo.import_frame(meter, big)
        took = time.perf_counter() - t0
        out.append(
            {
                "engine": engine,
                "case": f"{case} {rows:,} readings",
                "seconds": round(took, 2),
                "rows_per_s": int(rows / took),
                "ms": None,
                "target": f">= {IMPORT_TARGET:,}/s" if case == "import" else "–",
                "ok": (rows / took >= IMPORT_TARGET) if case == "import" else None,
                "note": result.message(),
            }
        )
    repo.import_frame("year", year)
    repo.load("year")  # warm: the first query also opens the connection
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        loaded = repo.load("year")
        times.append(time.perf_counter() - t0)
    assert len(loaded) == YEAR
    best = min(times) * 1000
    out.append(
        {
            "engine": engine,
            "case": f"load one meter-year ({YEAR:,} hourly readings + temperature)",
            "seconds": round(min(times), 4),
            "rows_per_s": int(YEAR / min(times)),
            "ms": round(best, 1),
            "target": f"< {LOAD_TARGET_MS:g} ms",
            "ok": best < LOAD_TARGET_MS,
            "note": f"best of 5; median {sorted(times)[2] * 1000:.1f} ms",
        }
    )
    store.close()
    return out


def run(smoke: bool = False) -> list[dict]:
    """One row per engine and case; PostgreSQL rows say why when no server could be had."""
    rows = 50_000 if smoke else ROWS
    out: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="wattsup-bench-store-") as tmp:
        home = Path(tmp)
        out += _engine_rows("SQLite", f"sqlite:///{home / 'bench.db'}", home, rows)
        try:
            with _postgres_url() as url:
                out += _engine_rows("PostgreSQL", url, home, rows)
        except Exception as err:  # noqa: BLE001 - a missing server is a row, not a lost section
            out.append({"engine": "PostgreSQL", "case": "not run", "note": str(err)[:300]})
    return out


def main() -> int:
    results = run(smoke="--smoke" in sys.argv)
    cols = ["engine", "case", "seconds", "rows_per_s", "ms", "target", "ok", "note"]
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in results)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in results:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols))
    return 0 if all(r.get("ok", True) is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
