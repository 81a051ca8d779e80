"""Live simulation: a pure ``step(state, new_points) -> state`` over an already-trained detector.

The live page replays a dataset as a stream. Each tick hands the next readings to :func:`step`, which
scores them with the fitted detector from the history held in the state (no refit per tick), flags them
on the calibrated (sigma-equivalent) scale, groups flags into live events and raises one alert per new
event. Nothing here reads a clock or a widget, so the page and the tests drive it the same way.

Causality
---------
A new reading is scored from a window that ends at that reading: the last ``context`` readings of the
buffer plus the new ones. :func:`init_state` works out two things from the history once:

* ``context``: the shortest window (doubling from a start guess) whose scores match scoring the whole
  history, so a live score equals the offline score of the series cut at that reading;
* ``batch_causal``: whether scoring a window that ends *after* a reading gives that reading the same
  score as a window ending *at* it. If so, a batch of new readings is scored in one call (fast: the
  benchmark's 1,000+ readings/s). If not (a detector with centred smoothing, such as the feature-based
  detectors whose "surrounding hours" features look a few readings ahead), each reading is scored
  alone, so no later reading can reach it; that costs one full scoring call per reading. Offline
  scores of such a detector do use the readings after a point, so they can differ from live ones.

Detection delay
---------------
:func:`inject` queues a fault that rewrites the next readings that reach :func:`step` (spike: one
reading raised to at least ``spike_factor`` times its value and by at least ``spike_sigma`` robust
sigmas, drop to zero: ``drop_length`` readings, stuck meter: ``stuck_length`` readings at the last
value). An injection counts as detected by the first flag from its first reading to ``grace`` readings
after its last; ``delay`` is that flag's position minus the first injected position, in readings. With a
sigma threshold of 3, a spike or a drop to zero in a regular meter is flagged at delay 0 (tested). A
stuck meter is flagged once the load the time of day calls for moves away from the stuck reading: within
its run when it sticks before the morning rise (tested), maybe not at all when it sticks through a flat
night.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.detect.detectors.base import Detector
from core.detect.events import LONG_STEPS, ZERO_FRACTION
from core.live.probes import (
    auto_context,
    expected_of,
    is_batch_causal,
    resolve_threshold,
    robust_sigma,
    week_profile,
)

InjectionKind = Literal["spike", "drop_to_zero", "stuck"]
INJECTION_KINDS: tuple[str, ...] = ("spike", "drop_to_zero", "stuck")
INJECTION_TITLES: dict[str, str] = {
    "spike": "Spike",
    "drop_to_zero": "Drop to zero",
    "stuck": "Stuck meter",
}
_EXTRA = ("score", "expected", "flag", "live", "injected")  # buffer columns besides the readings


@dataclass(frozen=True)
class LiveSettings:
    """How the stream is scored and flagged. Frozen, so the page can key a cache on it."""

    k: float = 3.0  # sigma threshold on the calibrated score (mode "sigma")
    mode: str = "sigma"  # "sigma"; "percentile"/"per_month"/"dynamic" are resolved once on history
    percentile: float = 99.0
    alerts_per_month: int = 10
    direction: str = "both"  # "both" | "over" | "under"
    min_deviation: float = 0.0
    min_deviation_pct: float = 0.0
    keep: int = 500  # readings kept for display (at least ``context`` are kept for scoring)
    context: int | None = None  # readings of history behind each new one; None = work it out
    merge_gap: int = 1  # flags with at most this many unflagged readings between: one event
    grace: int = 24  # readings after an injection's end that still count as detecting it
    spike_sigma: float = (
        8.0  # an injected spike adds at least this many robust sigmas of the history
    )
    spike_factor: float = 2.5  # ... and makes the reading at least this many times what it was
    drop_length: int = 6
    stuck_length: int = 12
    refit_every: int = 0  # readings between refits on a rolling window; 0 = never (default)
    refit_window: int = 24 * 28

    @classmethod
    def from_threshold(cls, threshold: Any, **kwargs: Any) -> LiveSettings:
        """Live settings that follow a ``core.detect.thresholds.ThresholdSettings`` (read by attribute)."""
        names = (
            "mode",
            "k",
            "percentile",
            "alerts_per_month",
            "direction",
            "min_deviation",
            "min_deviation_pct",
        )
        picked = {n: getattr(threshold, n) for n in names if hasattr(threshold, n)}
        return cls(**{**picked, **kwargs})


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


@dataclass(frozen=True)
class LiveEvent:
    """A run of flags in the stream. ``last`` is the stream position of its latest flag."""

    event_id: int
    start: pd.Timestamp
    end: pd.Timestamp
    first: int
    last: int
    n_points: int
    peak_time: pd.Timestamp
    peak_score: float
    value: float  # reading at the peak
    expected: float
    type: str
    cause: str


@dataclass(frozen=True)
class LiveState:
    """Everything the live page needs between ticks. Treat as immutable: ``step`` returns a new one."""

    detector: Detector
    settings: LiveSettings
    threshold: float
    context: int
    batch_causal: bool  # scores: one call per batch (True) or per reading
    expected_causal: bool  # the same for the expected reading
    columns: tuple[str, ...]  # the reading columns the detector sees (value + covariates)
    profile: np.ndarray  # time-of-week medians of the history, for "expected" without a forecast
    scale: float  # robust sigma of the history readings
    initial: pd.DataFrame  # the scored history tail: what reset goes back to
    buffer: pd.DataFrame  # last readings with score, expected, flag, live, injected
    position: int = 0  # stream readings consumed
    running: bool = False
    n_flagged: int = 0
    events: tuple[LiveEvent, ...] = ()
    new_alerts: tuple[LiveEvent, ...] = ()  # events opened by the last step (one toast each)
    injections: tuple[Injection, ...] = ()
    since_refit: int = 0
    n_refits: int = 0
    notes: tuple[str, ...] = field(default=())

    def _expected_of(self, window: pd.DataFrame) -> pd.Series:
        return expected_of(self.detector, window, self.profile)

    @property
    def n_events(self) -> int:
        return len(self.events)


# ---- set-up ---------------------------------------------------------------------------------------
def init_state(
    detector: Detector, history: pd.DataFrame, settings: LiveSettings = LiveSettings()
) -> LiveState:
    """A paused state whose buffer holds the scored tail of ``history`` (the warm-up period).

    ``detector`` must already be fitted (on ``history`` or earlier data); it is never mutated.
    """
    if not detector.is_fitted:
        raise ValueError("the live simulation needs a fitted detector")
    if len(history) < 2:
        raise ValueError("the live simulation needs some history to score new readings from")
    columns = tuple(c for c in history.columns if c != "label" and c not in _EXTRA)
    hist = history.loc[:, list(columns)]
    context = settings.context or auto_context(detector, hist)
    context = int(min(max(context, 2), len(hist)))
    batch_causal = is_batch_causal(detector.calibrated, hist, context)
    profile = week_profile(hist)
    expected_causal = is_batch_causal(lambda w: expected_of(detector, w, profile), hist, context)
    tail_len = min(len(hist), max(settings.keep, context))
    scored_from = max(0, len(hist) - tail_len - context)
    scores = detector.calibrated(hist.iloc[scored_from:]).iloc[-tail_len:]
    scale = robust_sigma(hist["value"].to_numpy(dtype=float))
    threshold = resolve_threshold(detector, hist, settings)
    tail = hist.iloc[-tail_len:].copy()
    tail["score"] = scores.to_numpy()
    tail["expected"] = expected_of(detector, hist.iloc[scored_from:], profile).iloc[-tail_len:]
    tail["flag"] = False
    tail["live"] = False
    tail["injected"] = ""
    return LiveState(
        detector=detector,
        settings=settings,
        threshold=threshold,
        context=context,
        batch_causal=batch_causal,
        expected_causal=expected_causal,
        columns=columns,
        profile=profile,
        scale=scale,
        initial=tail,
        buffer=tail,
    )


def start(state: LiveState) -> LiveState:
    return replace(state, running=True)


def pause(state: LiveState) -> LiveState:
    """Stop consuming readings; everything else is kept, so ``start`` carries on where it stopped."""
    return replace(state, running=False, new_alerts=())


def reset(state: LiveState) -> LiveState:
    """Back to the state ``init_state`` returned: history only, no events, no injections, paused."""
    return replace(
        state,
        buffer=state.initial,
        position=0,
        running=False,
        n_flagged=0,
        events=(),
        new_alerts=(),
        injections=(),
        since_refit=0,
        n_refits=0,
    )


def inject(state: LiveState, kind: str, *, length: int | None = None) -> LiveState:
    """Queue a fault that rewrites the next readings passed to :func:`step`."""
    if kind not in INJECTION_KINDS:
        raise ValueError(f"injection must be one of {', '.join(INJECTION_KINDS)}, got {kind!r}")
    default = {
        "spike": 1,
        "drop_to_zero": state.settings.drop_length,
        "stuck": state.settings.stuck_length,
    }
    n = int(length or default[kind])
    if n < 1:
        raise ValueError("an injection needs at least one reading")
    return replace(state, injections=(*state.injections, Injection(kind=kind, length=n)))


def next_points(stream: pd.DataFrame, state: LiveState, n: int) -> pd.DataFrame:
    """The next ``n`` readings of a replayed ``stream`` after what ``state`` has consumed."""
    return stream.iloc[state.position : state.position + max(int(n), 0)]


# ---- the step -------------------------------------------------------------------------------------
def step(state: LiveState, new_points: pd.DataFrame) -> LiveState:
    """Score, flag and group ``new_points`` (the next readings of the stream) into a new state.

    While paused the readings are not consumed and the state comes back unchanged.
    """
    if not state.running or len(new_points) == 0:
        return replace(state, new_alerts=()) if state.new_alerts else state
    last = state.buffer.index[-1]
    if new_points.index[0] <= last:
        raise ValueError(f"new readings must come after {last}, got {new_points.index[0]}")
    points = new_points.reindex(columns=list(state.columns)).astype(float)
    points, injected, injections = _apply_injections(state, points)

    base = state.buffer.loc[:, list(state.columns)]
    score = _causal(state, base, points, state.detector.calibrated, state.batch_causal)
    expected = _causal(state, base, points, state._expected_of, state.expected_causal)

    flags = _flags(state, points["value"].to_numpy(), score, expected)
    rows = points.copy()
    rows["score"] = score
    rows["expected"] = expected
    rows["flag"] = flags
    rows["live"] = True
    rows["injected"] = injected
    keep = max(state.settings.keep, state.context)
    if state.settings.refit_every:
        keep = max(keep, state.settings.refit_window)
    buffer = pd.concat([state.buffer, rows]).iloc[-keep:]

    positions = state.position + np.arange(len(points))
    events, opened = _update_events(state, rows, positions, buffer)
    injections = _mark_detected(injections, rows.index, positions, flags, state.settings.grace)
    new = replace(
        state,
        buffer=buffer,
        position=state.position + len(points),
        n_flagged=state.n_flagged + int(flags.sum()),
        events=events,
        new_alerts=opened,
        injections=injections,
        since_refit=state.since_refit + len(points),
    )
    return _maybe_refit(new)


def _causal(
    state: LiveState, base: pd.DataFrame, points: pd.DataFrame, of, batch: bool
) -> np.ndarray:
    """``of(window)`` for each new reading from a window that ends at it: one window for the whole
    batch when ``batch`` (checked at start-up to give the same numbers), else one per reading."""

    def window(upto: int) -> pd.DataFrame:
        w = pd.concat([base.iloc[-state.context :], points.iloc[:upto]])
        w.index.name = base.index.name
        return w

    if batch:
        return np.asarray(of(window(len(points))), dtype=float)[-len(points) :]
    return np.array([np.asarray(of(window(i + 1)), dtype=float)[-1] for i in range(len(points))])


def _flags(
    state: LiveState, value: np.ndarray, score: np.ndarray, expected: np.ndarray
) -> np.ndarray:
    s = state.settings
    with np.errstate(invalid="ignore"):
        flags = np.isfinite(score) & (score > state.threshold)
        dev = value - expected
        if s.direction == "over":
            flags &= dev > 0
        elif s.direction == "under":
            flags &= dev < 0
        if s.min_deviation > 0:
            flags &= np.abs(dev) >= s.min_deviation
        if s.min_deviation_pct > 0:
            flags &= np.abs(dev) >= np.abs(expected) * s.min_deviation_pct / 100.0
    return np.asarray(flags, dtype=bool)


# ---- injections -----------------------------------------------------------------------------------
def _apply_injections(
    state: LiveState, points: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, tuple[Injection, ...]]:
    """Rewrite the readings the pending injections cover; returns the kind per reading ("" if none)."""
    values = points["value"].to_numpy(dtype=float).copy()
    kinds = np.full(len(points), "", dtype=object)
    last_value = (
        float(state.buffer["value"].dropna().iloc[-1])
        if state.buffer["value"].notna().any()
        else 0.0
    )
    out: list[Injection] = []
    cursor = 0  # injections run one after another, in the order they were queued
    for inj in state.injections:
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
                level = max(
                    state.settings.spike_sigma * state.scale,
                    (state.settings.spike_factor - 1.0) * abs(values[cursor]),
                )
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
                start=state.position + cursor if first else inj.start,
                start_time=points.index[cursor] if first else inj.start_time,
                applied=inj.applied + take,
                value=level,
            )
        )
        cursor += take
    points = points.copy()
    points["value"] = values
    return points, kinds.astype(str), tuple(out)


def _mark_detected(
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


# ---- live events ----------------------------------------------------------------------------------
def _update_events(
    state: LiveState, rows: pd.DataFrame, positions: np.ndarray, buffer: pd.DataFrame
) -> tuple[tuple[LiveEvent, ...], tuple[LiveEvent, ...]]:
    """Extend the open event or open new ones; returns (all events, the ones opened now)."""
    events = list(state.events)
    opened: list[int] = []
    flags = rows["flag"].to_numpy()
    for i in np.flatnonzero(flags):
        pos = int(positions[i])
        ts = rows.index[i]
        score = float(rows["score"].iat[i])
        if events and pos - events[-1].last <= state.settings.merge_gap + 1:
            ev = events[-1]
            peak = score > ev.peak_score
            ev = replace(
                ev,
                end=ts,
                last=pos,
                n_points=ev.n_points + 1,
                peak_time=ts if peak else ev.peak_time,
                peak_score=max(score, ev.peak_score),
                value=float(rows["value"].iat[i]) if peak else ev.value,
                expected=float(rows["expected"].iat[i]) if peak else ev.expected,
            )
            events[-1] = _classified(ev, buffer, state.scale)
        else:
            ev = LiveEvent(
                event_id=len(events) + 1,
                start=ts,
                end=ts,
                first=pos,
                last=pos,
                n_points=1,
                peak_time=ts,
                peak_score=score,
                value=float(rows["value"].iat[i]),
                expected=float(rows["expected"].iat[i]),
                type="",
                cause="",
            )
            events.append(_classified(ev, buffer, state.scale))
            opened.append(len(events) - 1)
    return tuple(events), tuple(events[j] for j in opened)


def _classified(ev: LiveEvent, buffer: pd.DataFrame, scale: float) -> LiveEvent:
    """Type and cause of a live event, in the vocabulary (and thresholds) of ``core.detect.events``.

    Only what the stream has seen so far counts, so a live event may change type as it grows.
    """
    run = buffer.loc[ev.start : ev.end]
    values = run["value"].to_numpy(dtype=float)
    upto = buffer.loc[: ev.end, "value"].to_numpy(dtype=float)
    expected = run["expected"].to_numpy(dtype=float)
    exp_mean = float(np.nanmean(expected)) if np.isfinite(expected).any() else float("nan")
    tol = max(1e-9, 1e-6 * abs(exp_mean) if np.isfinite(exp_mean) else 1e-9)
    repeats = _repeat_run(upto)
    if values.size and exp_mean > 0 and np.all(np.abs(values) <= ZERO_FRACTION * exp_mean):
        kind, cause = "drop_to_zero", f"reading fell to 0 (expected about {exp_mean:,.1f})"
    elif repeats >= max(3, values.size + 1) and np.nanmax(np.abs(values - upto[-1])) <= tol:
        kind = "flat"
        cause = f"the meter has shown {upto[-1]:,.1f} for {repeats} readings in a row"
    else:
        dev = ev.value - ev.expected
        ratio = ev.value / ev.expected if np.isfinite(ev.expected) and ev.expected > tol else np.nan
        if dev >= 0:
            kind = "level_shift" if ev.n_points >= LONG_STEPS else "spike"
            times = f"{ratio:.1f}× " if np.isfinite(ratio) and ratio >= 1.5 else ""
            cause = f"reading {ev.value:,.1f} is {times}above the expected {ev.expected:,.1f}"
        else:
            kind = "level_shift" if ev.n_points >= LONG_STEPS else "dip"
            pct = f"{100 * (1 - ratio):.0f} % " if np.isfinite(ratio) else ""
            cause = f"reading {ev.value:,.1f} is {pct}below the expected {ev.expected:,.1f}"
    return replace(ev, type=kind, cause=cause)


def _repeat_run(values: np.ndarray) -> int:
    """How many readings at the end of ``values`` repeat the last one exactly."""
    if values.size == 0 or not np.isfinite(values[-1]):
        return 0
    same = values[::-1] == values[-1]
    return int(np.argmin(same)) if not same.all() else int(same.size)


# ---- tables for the page ------------------------------------------------------------------------
def events_table(state: LiveState) -> pd.DataFrame:
    """Live events, newest first: time, value, expected, score, type, cause (plus end and size)."""
    cols = ["time", "value", "expected", "score", "type", "cause", "end", "n_points"]
    if not state.events:
        return pd.DataFrame(columns=cols)
    rows = [
        {
            "time": e.start,
            "value": e.value,
            "expected": e.expected,
            "score": e.peak_score,
            "type": e.type,
            "cause": e.cause,
            "end": e.end,
            "n_points": e.n_points,
        }
        for e in reversed(state.events)
    ]
    return pd.DataFrame(rows, columns=cols)


def injections_table(state: LiveState) -> pd.DataFrame:
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
        for i in state.injections
    ]
    return pd.DataFrame(rows, columns=cols)


def counters(state: LiveState) -> dict[str, int]:
    return {
        "readings": state.position,
        "flagged": state.n_flagged,
        "events": state.n_events,
        "injected": len(state.injections),
        "detected": sum(i.detected is not None for i in state.injections),
    }


def _maybe_refit(state: LiveState) -> LiveState:
    """Optional: refit a copy of the detector on the rolling window every ``refit_every`` readings."""
    s = state.settings
    if not s.refit_every or state.since_refit < s.refit_every:
        return state
    window = state.buffer.loc[:, list(state.columns)].iloc[-s.refit_window :]
    if window["value"].notna().sum() < type(state.detector).min_points:
        return state
    fresh = type(state.detector)(**state.detector.get_params()).fit(window)
    return replace(state, detector=fresh, since_refit=0, n_refits=state.n_refits + 1)
