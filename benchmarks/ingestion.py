"""Ingestion speed: a 1,000,000-row CSV through ``parse_upload``. Target: under 3 s.

``python -m benchmarks.ingestion`` writes the file into a temporary folder, reads it back as
bytes (as an upload arrives), then parses, validates and cleans it, and prints one row per case.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.ingest.data import CleanOptions, parse_upload

ROWS = 1_000_000
TARGET_S = 3.0


def make_csv(path: Path, rows: int = ROWS, seed: int = 0) -> Path:
    """timestamp (15 min, ISO), value (kWh, 3 decimals), temperature (°C, 1 decimal)."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2000-01-01", periods=rows, freq="15min")
    hour = idx.hour.to_numpy() + idx.minute.to_numpy() / 60
    value = 20 + 10 * np.sin(2 * np.pi * hour / 24) + rng.normal(0, 1, rows)
    temp = 12 + 8 * np.sin(2 * np.pi * (hour - 9) / 24) + rng.normal(0, 0.5, rows)
    frame = pd.DataFrame(
        {
            "timestamp": idx.strftime("%Y-%m-%d %H:%M:%S"),
            "value": value.round(3),
            "temperature": temp.round(1),
        }
    )
    frame.to_csv(path, index=False)
    return path


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def time_case(name: str, data: bytes, options: CleanOptions, repeats: int = 3) -> dict:
    """Best of ``repeats`` wall-clock runs (the first one also warms imports and caches)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ds = parse_upload(data, "bench.csv", options=options)
        times.append(time.perf_counter() - t0)
    best = min(times)
    return {
        "case": name,
        "rows": ds.report.fields["rows"],
        "mb": round(len(data) / 1e6, 1),
        "seconds": round(best, 3),
        "rows_per_s": int(ds.report.fields["rows"] / best),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "target_s": TARGET_S,
        "ok": best < TARGET_S,
    }


def run(rows: int = ROWS) -> list[dict]:
    """Generate, then time the plain parse, the parse with resampling to 1 h, and a European dialect."""
    with tempfile.TemporaryDirectory() as tmp:
        data = make_csv(Path(tmp) / "bench.csv", rows).read_bytes()
    european = data.replace(b",", b";").replace(b".", b",")  # ; separator, decimal comma
    return [
        time_case("parse + validate (15min)", data, CleanOptions()),
        time_case("parse + validate + resample 1h", data, CleanOptions(freq="1h")),
        time_case("same, ';' and decimal comma", european, CleanOptions()),
    ]


def main() -> int:
    results = run()
    cols = ["case", "rows", "mb", "seconds", "rows_per_s", "peak_rss_mb", "ok"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in results)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in results:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in cols))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
