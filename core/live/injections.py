"""Faults injected into a live stream (spike, drop to zero, stuck meter) and when they were caught.

``core.live.engine.inject`` queues a fault that rewrites the next readings that reach ``core.live.engine.step``
(spike: one reading raised to at least ``spike_factor`` times its value and by at least ``spike_sigma``
robust sigmas of the warm-up; drop to zero: ``drop_length`` readings; stuck meter: ``stuck_length``
readings at the last value). An injection counts as detected by the first flag from its first reading to
``grace`` readings after its last; ``delay`` is that flag's position minus the first injected position,
in readings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

InjectionKind = Literal["spike", "drop_to_zero", "stuck"]
INJECTION_KINDS: tuple[str, ...] = ("spike", "drop_to_zero", "stuck")
INJECTION_TITLES: dict[str, str] = {
    "spike": "Spike",
    "drop_to_zero": "Drop to zero",
    "stuck": "Stuck meter",
}


@dataclass(frozen=True)
class Injection:
    """A fault written into the stream: where it went and when it was caught."""

    kind: str
    length: int
    start: int | None = None  # stream position of the first injected reading
    applied: int = 0  # readings rewritten so far
    value: float = float("nan")  # stuck level (stuck) or the added amount (spike)
    start_time: pd.Timestamp | None = None
    detected: int | None = None  # stream position of the first flag that caught it
    detected_time: pd.Timestamp | None = None

    @property
    def delay(self) -> int | None:
        """Readings from the first injected reading to the first flag, ``None`` while undetected."""
        return None if self.detected is None or self.start is None else self.detected - self.start

    @property
    def done(self) -> bool:
        return self.applied >= self.length


def apply_injections(
    injections: tuple[Injection, ...],
    points: pd.DataFrame,
    *,
    position: int,
    last_value: float,
    scale: float,
    spike_sigma: float,
    spike_factor: float,
) -> tuple[pd.DataFrame, np.ndarray, tuple[Injection, ...]]:
    """Rewrite the readings the pending injections cover; returns the kind per reading ("" if none).

    ``position`` is the stream position of ``points``' first reading, ``last_value`` the reading before
    it and ``scale`` the warm-up's robust sigma (a spike adds at least ``spike_sigma`` of them).
    """
    values = points["value"].to_numpy(dtype=float).copy()
    kinds = np.full(len(points), "", dtype=object)
    out: list[Injection] = []
    cursor = 0  # injections run one after another, in the order they were queued
    for inj in injections:
        if inj.done:
            out.append(inj)
            continue
        while cursor < len(values) and kinds[cursor]:
            cursor += 1
        if cursor >= len(values):
            out.append(inj)
            continue
        take = min(inj.length - inj.applied, len(values) - cursor)
        sl = slice(cursor, cursor + take)
        level = inj.value
        if inj.kind == "spike":
            if not np.isfinite(level):  # what a person calls a spike: far out, and at least 2.5x
                level = max(spike_sigma * scale, (spike_factor - 1.0) * abs(values[cursor]))
            values[sl] = values[sl] + level
        elif inj.kind == "drop_to_zero":
            values[sl] = 0.0
        else:  # stuck: the meter repeats the reading it showed just before the fault
            if not np.isfinite(level):
                level = values[cursor - 1] if cursor > 0 else last_value
            values[sl] = level
        kinds[sl] = inj.kind
        first = inj.start is None
        out.append(
            replace(
                inj,
                start=position + cursor if first else inj.start,
                start_time=points.index[cursor] if first else inj.start_time,
                applied=inj.applied + take,
                value=level,
            )
        )
        cursor += take
    points = points.copy()
    points["value"] = values
    return points, kinds.astype(str), tuple(out)


def mark_detected(
    injections: tuple[Injection, ...],
    index: pd.DatetimeIndex,
    positions: np.ndarray,
    flags: np.ndarray,
    grace: int,
) -> tuple[Injection, ...]:
    flagged = positions[flags]
    out = []
    for inj in injections:
        if inj.detected is None and inj.start is not None and flagged.size:
            stop = inj.start + inj.length - 1 + grace
            hit = flagged[(flagged >= inj.start) & (flagged <= stop)]
            if hit.size:
                pos = int(hit[0])
                when = index[int(np.flatnonzero(positions == pos)[0])]
                inj = replace(inj, detected=pos, detected_time=when)
        out.append(inj)
    return tuple(out)


def injections_table(injections: tuple[Injection, ...]) -> pd.DataFrame:
    """Injected faults with where they started and their detection delay (readings)."""
    cols = ["kind", "start", "length", "detected", "delay"]
    rows = [
        {
            "kind": INJECTION_TITLES[i.kind],
            "start": i.start_time,
            "length": i.length,
            "detected": i.detected_time,
            "delay": i.delay,
        }
        for i in injections
    ]
    return pd.DataFrame(rows, columns=cols)
