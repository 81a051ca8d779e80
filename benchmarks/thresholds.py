"""Re-thresholding speed: a year of hourly scores (8,784 points) through ``flag_points``, per mode.

Target: under 50 ms per mode, so a slider move on the Anomaly detection page re-flags instantly.
``python -m benchmarks.thresholds`` prints one row per mode (best and median of repeated runs). The
scored frame is a year of hourly calibrated-like scores with planted spikes, bursts and a level
shift, plus ``expected`` and ``deviation``, so the direction and min-deviation rules run too.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from core.detect.thresholds import MODES, ThresholdSettings, flag_points

POINTS = 8_784  # 2016, a leap year, hourly
TARGET_MS = 50.0


def scored_year(n: int = POINTS, seed: int = 0) -> pd.DataFrame:
    """A scored frame shaped like ``core.detect.pipeline.score_frame`` output (value, score, expected, ...)."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2016-01-01", periods=n, freq="1h", name="timestamp")
    expected = 100 + 40 * np.sin(2 * np.pi * (idx.hour.to_numpy() - 8) / 24)
    deviation = rng.normal(0, 5, n)
    for start in rng.choice(n - 30, size=25, replace=False):
        length = int(rng.integers(1, 12))
        deviation[start : start + length] += rng.choice([-1, 1]) * rng.uniform(30, 80)
    deviation[6000:6200] += 25  # a level shift
    score = deviation / 5 + rng.normal(0, 0.3, n)
    score[:24] = np.nan  # warm-up
    return pd.DataFrame(
        {
            "value": expected + deviation,
            "score": np.abs(score),
            "expected": expected,
            "deviation": deviation,
        },
        index=idx,
    )


def time_mode(scored: pd.DataFrame, settings: ThresholdSettings, repeats: int) -> dict:
    flag_points(scored, settings)  # warm caches and lazy imports
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        flags = flag_points(scored, settings)
        times.append((time.perf_counter() - t0) * 1000)
    best = min(times)
    return {
        "mode": settings.mode,
        "rules": f"direction={settings.direction}, min_deviation={settings.min_deviation:g}",
        "points": len(scored),
        "flagged": int(flags.sum()),
        "best_ms": round(best, 2),
        "median_ms": round(float(np.median(times)), 2),
        "target_ms": TARGET_MS,
        "ok": best < TARGET_MS,
    }


def run(smoke: bool = False) -> list[dict]:
    """One row per threshold mode, plain and with direction + min-deviation rules on."""
    scored = scored_year()
    repeats = 3 if smoke else 25
    rows = []
    for mode in MODES:
        rows.append(time_mode(scored, ThresholdSettings(mode=mode), repeats))
        rules = ThresholdSettings(mode=mode, direction="over", min_deviation=10.0)
        rows.append(time_mode(scored, rules, repeats))
    return rows


def main() -> int:
    rows = run()
    print(pd.DataFrame(rows).to_string(index=False))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
