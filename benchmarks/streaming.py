"""Live simulation speed: how many readings per second ``simulation.step`` keeps up with, and what one
tick of the Live simulation page costs on the server.

Targets: the step (score from the buffer, threshold, event update) handles at least 1,000 readings/s
when fed in page-sized batches, and one page tick at 2 readings/s (one reading: step, live chart,
both tables, the figure serialised to JSON as Streamlit sends it) stays under 100 ms.

Data: the bundled Polito building sample (hourly, with temperature). Each detector is fitted on the
first four weeks (the page's warm-up) and the stream replays the readings after it, with a spike, a
drop to zero and a stuck meter injected along the way. ``python -m benchmarks.streaming`` prints one
row per (detector, batch size) and one per tick measurement.

A detector whose features look at readings after a point (``batch_causal`` False: centred smoothing)
cannot be scored a batch at a time without letting later readings into earlier scores, so the step
scores its readings one by one; its rate is bounded by one full ``calibrated`` call per reading.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from core.charts.live_charts import live_figure
from core.detect.pipeline import DetectorSettings, causal_settings, make_detector
from core.ingest.samples import load_sample
from core.live.engine import (
    LiveSettings,
    events_table,
    init_state,
    inject,
    injections_table,
    next_points,
    start,
    step,
)

TARGET_POINTS_PER_S = 1000.0
TARGET_TICK_MS = 100.0
WARMUP = 24 * 28
DETECTORS = ("rolling_z", "seasonal_naive", "isolation_forest", "ensemble")


def _prepared(detector: str, frame: pd.DataFrame):
    settings = causal_settings(DetectorSettings(detector=detector))  # as the Live page does
    det = make_detector(settings).fit(frame.iloc[:WARMUP])
    return init_state(det, frame.iloc[:WARMUP], LiveSettings(keep=500))


def throughput(state, stream: pd.DataFrame, batch: int, points: int) -> dict:
    """Replay ``points`` readings in steps of ``batch``, with three injections on the way."""
    s = start(state)
    injections = {points // 4: "spike", points // 2: "drop_to_zero", 3 * points // 4: "stuck"}
    t0 = time.perf_counter()
    while s.position < points:
        for at, kind in injections.items():
            if s.position <= at < s.position + batch:
                s = inject(s, kind)
        s = step(s, next_points(stream, s, min(batch, points - s.position)))
    took = time.perf_counter() - t0
    rate = points / took
    return {
        "measure": "step throughput",
        "detector": s.detector.name,
        "batch": batch,
        "points": points,
        "batch_causal": s.batch_causal,
        "context": s.context,
        "value": round(rate, 1),
        "unit": "points/s",
        "target": f">= {TARGET_POINTS_PER_S:,.0f}",
        "ok": rate >= TARGET_POINTS_PER_S,
        "caught": f"{sum(i.detected is not None for i in s.injections)}/{len(s.injections)}",
    }


def tick(state, stream: pd.DataFrame, ticks: int) -> dict:
    """Median server time of one page tick at 2 readings/s (one reading per half-second tick)."""
    s = start(state)
    times = []
    for _ in range(ticks):
        t0 = time.perf_counter()
        s = step(s, next_points(stream, s, 1))
        fig = live_figure(s, last=300, unit="kWh")
        events_table(s)
        injections_table(s)
        fig.to_json()
        times.append((time.perf_counter() - t0) * 1000)
    median = float(np.median(times))
    return {
        "measure": "page tick (step + chart + tables + JSON)",
        "detector": s.detector.name,
        "batch": 1,
        "points": ticks,
        "batch_causal": s.batch_causal,
        "context": s.context,
        "value": round(median, 1),
        "unit": f"ms (median; p90 {np.percentile(times, 90):.1f})",
        "target": f"< {TARGET_TICK_MS:.0f}",
        "ok": median < TARGET_TICK_MS,
        "caught": "",
    }


def run(smoke: bool = False) -> list[dict]:
    """Throughput per detector and batch size, then the page tick for each detector."""
    frame = load_sample("polito_building").frame
    stream = frame.iloc[WARMUP:]
    rows = []
    for name in DETECTORS[:1] if smoke else DETECTORS:
        state = _prepared(name, frame)
        # a detector that looks ahead is scored one reading at a time (see core.live.engine):
        # replay fewer readings so the run stays short; the rate is per reading either way
        points = 300 if smoke else (3000 if state.batch_causal else 150)
        for batch in (25, 100):
            rows.append(throughput(state, stream, batch, points))
        rows.append(tick(state, stream, 10 if smoke else (60 if state.batch_causal else 20)))
    return rows


def main() -> int:
    rows = run()
    print(pd.DataFrame(rows).to_string(index=False))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
