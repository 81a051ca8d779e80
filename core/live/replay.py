"""Replay a file through the live engine: the events a live deployment would have raised, and when.

This is how a user backtests alert rules before going live (``python -m core replay``): the detector's
causal twin is fitted on the warm-up, the rest of the file streams through ``core.live.engine.step`` in
batches of ``batch`` readings (a device or gateway pushing every so often), and each event is reported
with the reading whose arrival raised it.

Detection delay: ``alert_delay`` counts readings from an event's start to the end of the batch that
raised it (0 when readings arrive one by one). When the file has labels, ``label_delay`` counts
readings from the start of the labelled anomaly an event overlaps to the event's start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.detect.detectors.base import Detector
from core.live.engine import LiveEvent, LiveSettings, LiveState, init_state, start, step


@dataclass(frozen=True)
class ReplayedEvent:
    """A live event as it ended, with when it was raised."""

    event: LiveEvent
    alerted_at: pd.Timestamp
    alert_delay: int
    label_delay: int | None


@dataclass(frozen=True)
class Replay:
    """What a replay produced: the final state, every event as it ended, and every live flag."""

    state: LiveState
    events: list[ReplayedEvent]
    flags: pd.Series


def replay(
    frame: pd.DataFrame,
    detector: Detector,
    warmup: int,
    settings: LiveSettings = LiveSettings(),
    *,
    freq: pd.Timedelta | str | None = None,
    unit: str = "",
    batch: int = 1,
) -> Replay:
    """Stream ``frame`` after its first ``warmup`` readings through the live engine."""
    if batch < 1:
        raise ValueError(f"batch must be 1 or more readings, got {batch}")
    if not 1 < warmup < len(frame):
        raise ValueError(
            f"the warm-up must be between 2 and {len(frame) - 1} readings, got {warmup}"
        )
    readings = frame.drop(columns="label", errors="ignore")
    state = start(init_state(detector, readings.iloc[:warmup], settings, freq=freq, unit=unit))
    stream = readings.iloc[warmup:]
    raised: dict[int, tuple[pd.Timestamp, int]] = {}
    flags: list[np.ndarray] = []
    for lo in range(0, len(stream), batch):
        chunk = stream.iloc[lo : lo + batch]
        state = step(state, chunk)
        flags.append(state.buffer["flag"].to_numpy(dtype=bool)[-len(chunk) :])
        for ev in state.new_alerts:
            raised[ev.event_id] = (chunk.index[-1], lo + len(chunk) - 1)
    onsets = _label_onsets(frame)
    out = []
    for ev in state.events:
        when, arrived = raised[ev.event_id]
        out.append(ReplayedEvent(ev, when, arrived - ev.first, _label_delay(ev, frame, onsets)))
    live_flags = pd.Series(
        np.concatenate(flags) if flags else np.zeros(0, bool), index=stream.index, name="flag"
    )
    return Replay(state, out, live_flags)


def _label_onsets(frame: pd.DataFrame) -> np.ndarray | None:
    """Positions where a labelled anomaly starts (None when the file has no labels)."""
    if "label" not in frame.columns or not frame["label"].notna().any():
        return None
    lab = frame["label"].fillna(0).to_numpy() > 0
    return np.flatnonzero(lab & ~np.r_[False, lab[:-1]])


def _label_delay(ev: LiveEvent, frame: pd.DataFrame, onsets: np.ndarray | None) -> int | None:
    """Readings from the onset of the labelled anomaly under the event's start (None if unlabelled)."""
    if onsets is None:
        return None
    lab = frame["label"].fillna(0).to_numpy() > 0
    begin = int(frame.index.get_indexer([ev.start])[0])
    end = int(frame.index.get_indexer([ev.end])[0])
    hit = np.flatnonzero(lab[begin : end + 1])
    if hit.size == 0:
        return None
    first = begin + int(hit[0])
    before = onsets[onsets <= first]
    return begin - int(before[-1]) if before.size and begin >= before[-1] else 0


def replay_records(events: list[ReplayedEvent]) -> list[dict]:
    """JSON-ready rows: start, end, type, peak score, excess, cause and the delays."""
    rows = []
    for r in events:
        e = r.event
        rows.append(
            {
                "event_id": e.event_id,
                "start": e.start.isoformat(),
                "end": e.end.isoformat(),
                "type": e.type,
                "peak_score": _num(e.peak_score),
                "excess": _num(e.excess),
                "cause": e.cause,
                "alerted_at": r.alerted_at.isoformat(),
                "alert_delay": r.alert_delay,
                "label_delay": r.label_delay,
            }
        )
    return rows


def _num(x: float) -> float | None:
    return round(float(x), 4) if np.isfinite(x) else None
