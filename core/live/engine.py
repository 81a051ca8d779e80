"""Live detection: a pure ``step(state, new_points) -> state`` over a detector fitted on the warm-up.

The live page (and ``python -m core replay``) hands each batch of new readings to :func:`step`. The
engine obeys the offline rules because it calls the offline code: ``score_frame`` (calibration and the
warm-up's week profile), ``flag_points`` with the threshold ``resolve_threshold`` learned from the
warm-up (the same ``ThresholdSettings`` class and defaults as the Anomaly detection page), and
``find_events`` for event typing and causes. Replaying a file therefore raises the same flags and
events after the warm-up as ``core.detect.run.run_detection(frame, ..., warmup=N)`` with the same
detector and settings (tested for every threshold mode). Nothing here reads a clock or a widget.

Causality
---------
A new reading is scored from a window that ends at it: the last ``context`` readings of the buffer
plus the new ones. :func:`init_state` works out two things from the warm-up once (``core.live.probes``):

* ``context``: the shortest window whose scores and expectations match scoring the whole warm-up;
* ``batch_causal``: whether a window that ends *after* a reading gives it the same numbers as a window
  ending *at* it. If so, a batch is scored in one call; if not (a detector with centred smoothing, such
  as the offline feature detectors), each reading is scored alone, so no later reading reaches it.
  The live page fits the causal twin (``core.detect.pipeline.causal_settings``), which is batch-causal.

Events
------
An event stays open while a new flag can still join it (``merge_gap``); each step re-runs
``find_events`` over the open event and the new readings, so an open event may grow and change type.
:attr:`LiveState.new_alerts` holds the events opened by the last step: one alert each.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from core.detect.detectors.base import Detector
from core.detect.events import COLUMNS as EVENT_COLUMNS
from core.detect.events import find_events
from core.detect.holidays import holiday_names
from core.detect.profile import robust_sigma
from core.detect.run import learn_reference
from core.detect.scoring import score_frame
from core.detect.submeters import with_submeter_causes
from core.detect.thresholds import flag_points
from core.live.injections import (
    INJECTION_KINDS,
    INJECTION_TITLES,
    Injection,
    apply_injections,
    mark_detected,
)
from core.live.injections import injections_table as injected_table
from core.live.probes import auto_context, is_batch_causal, leading_nan
from core.live.state import LiveEvent, LiveSettings, LiveState

__all__ = ["INJECTION_KINDS", "INJECTION_TITLES", "LiveEvent", "LiveSettings", "LiveState"]

_JUDGED = ("score", "expected", "lower", "upper", "deviation")  # from score_frame
_EXTRA = (*_JUDGED, "raw_score", "flag", "live", "injected", "position")
MIN_SMOOTHING = (
    64  # readings behind a batch for the dynamic mode's EWMA (span 3: 0.5^64 is nothing)
)


# ---- set-up ---------------------------------------------------------------------------------------
def init_state(
    detector: Detector,
    history: pd.DataFrame,
    settings: LiveSettings = LiveSettings(),
    *,
    freq: pd.Timedelta | str | None = None,
    unit: str = "",
) -> LiveState:
    """A paused state whose buffer holds the scored tail of ``history`` (the warm-up period).

    ``detector`` must already be fitted (on ``history`` or earlier data); it is never mutated.
    ``freq`` defaults to the history's step; ``unit`` sizes the events' energy as offline.
    """
    if not detector.is_fitted:
        raise ValueError("the live simulation needs a fitted detector")
    if len(history) < 2:
        raise ValueError("the live simulation needs some history to score new readings from")
    columns = tuple(c for c in history.columns if c != "label" and c not in _EXTRA)
    hist = history.loc[:, list(columns)]
    reference = learn_reference(detector, hist, settings.threshold)

    def of(window: pd.DataFrame) -> np.ndarray:
        return score_frame(detector, window, profile=reference.profile)[
            ["score", "expected"]
        ].to_numpy(dtype=float)

    lead = leading_nan(detector.score(hist.iloc[: min(len(hist), 2000)]).to_numpy(dtype=float))
    declared = detector.lookback(hist.index) + 1
    context = settings.context or max(auto_context(of, hist, start=max(48, 2 * lead)), declared)
    context = int(max(context, 2))
    tail_len = min(len(hist), max(settings.keep, context, MIN_SMOOTHING))
    scored = score_frame(detector, hist, profile=reference.profile)
    tail = hist.iloc[-tail_len:].copy()
    for col in (*_JUDGED, "raw_score"):
        tail[col] = scored[col].iloc[-tail_len:].to_numpy()
    tail["flag"] = False  # the warm-up is the reference: never flagged
    tail["live"] = False
    tail["injected"] = ""
    tail["position"] = -1
    return LiveState(
        detector=detector,
        settings=settings,
        reference=reference,
        context=context,
        batch_causal=is_batch_causal(of, hist, context),
        columns=columns,
        freq=pd.Timedelta(freq) if freq is not None else _step(hist.index),
        unit=unit,
        scale=robust_sigma(hist["value"].to_numpy(dtype=float)),
        initial=tail,
        buffer=tail,
    )


def _step(index: pd.DatetimeIndex) -> pd.Timedelta:
    return pd.Timedelta((index[1:] - index[:-1]).median()) if len(index) > 1 else pd.Timedelta("1h")


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
    known = state.buffer["value"].dropna()
    points, injected, injections = apply_injections(
        state.injections,
        points,
        position=state.position,
        last_value=float(known.iloc[-1]) if len(known) else 0.0,
        scale=state.scale,
        spike_sigma=state.settings.spike_sigma,
        spike_factor=state.settings.spike_factor,
    )
    rows = _scored(state, points)
    judged = pd.concat([state.buffer[list(rows.columns)].iloc[-_behind(state) :], rows])
    flags = flag_points(judged, state.settings.threshold, fixed=state.reference.threshold)
    rows["flag"] = flags.to_numpy()[-len(rows) :]
    rows["live"] = True
    rows["injected"] = injected
    positions = state.position + np.arange(len(points))
    rows["position"] = positions
    buffer = pd.concat([state.buffer, rows])
    events, opened = _update_events(state, buffer, int(positions[0]))
    flag_arr = rows["flag"].to_numpy(dtype=bool)
    injections = mark_detected(injections, rows.index, positions, flag_arr, state.settings.grace)
    new = replace(
        state,
        buffer=buffer.iloc[-_keep(state, events, int(positions[-1])) :],
        position=state.position + len(points),
        n_flagged=state.n_flagged + int(flag_arr.sum()),
        events=events,
        new_alerts=opened,
        injections=injections,
        since_refit=state.since_refit + len(points),
    )
    return _maybe_refit(new)


def _behind(state: LiveState) -> int:
    return max(state.context, MIN_SMOOTHING)


def _keep(state: LiveState, events: tuple[LiveEvent, ...], newest: int) -> int:
    """Buffer rows to keep: the display, the scoring context, and the whole of an open event."""
    keep = max(state.settings.keep, _behind(state))
    if state.settings.refit_every:
        keep = max(keep, state.settings.refit_window)
    if events and newest - events[-1].last <= state.settings.merge_gap:
        keep = max(keep, newest - events[-1].first + 1)
    return keep


def _scored(state: LiveState, points: pd.DataFrame) -> pd.DataFrame:
    """``score_frame`` rows of the new readings, each from a window that ends at it (or the batch's
    end when the detector is batch-causal)."""
    base = state.buffer.loc[:, list(state.columns)].iloc[-state.context :]

    def scored_window(upto: int) -> pd.DataFrame:
        window = pd.concat([base, points.iloc[:upto]])
        window.index.name = state.buffer.index.name
        out = score_frame(state.detector, window, profile=state.reference.profile)
        return out[list(state.columns) + [*_JUDGED, "raw_score"]]

    if state.batch_causal:
        return scored_window(len(points)).iloc[-len(points) :].copy()
    return pd.concat([scored_window(i + 1).iloc[-1:] for i in range(len(points))])


# ---- live events ----------------------------------------------------------------------------------
def _update_events(
    state: LiveState, buffer: pd.DataFrame, first_new: int
) -> tuple[tuple[LiveEvent, ...], tuple[LiveEvent, ...]]:
    """Re-run ``find_events`` over the open event (if a new flag can still join it) and the new
    readings; returns (all events, the ones opened now)."""
    events = list(state.events)
    open_event = (
        events[-1]
        if events and first_new - events[-1].last <= state.settings.merge_gap + 1
        else None
    )
    since = open_event.first if open_event else first_new
    part = buffer[buffer["position"].to_numpy() >= since]
    found = find_events(
        part,
        part["flag"].astype(bool),
        freq=state.freq,
        unit=state.unit,
        merge_gap=state.settings.merge_gap,
        median_expected=state.reference.median_expected,
        holidays=holiday_names(part.index, country)
        if (country := state.settings.threshold.country)
        else None,
    )
    if found.empty:
        return tuple(events), ()
    found = with_submeter_causes(
        found, part, freq=state.freq, unit=state.unit, profiles=state.reference.submeters
    )
    pos = pd.Series(part["position"].to_numpy(), index=part.index)
    flagged = pos[part["flag"].to_numpy(dtype=bool)]
    live = [_event(row, flagged) for row in found.to_dict("records")]
    if open_event is not None:
        events[-1] = replace(live.pop(0), event_id=open_event.event_id)
    opened = []
    for ev in live:
        ev = replace(ev, event_id=len(events) + 1)
        events.append(ev)
        opened.append(ev)
    return tuple(events), tuple(opened)


def _event(row: dict, flagged: pd.Series) -> LiveEvent:
    inside = flagged[(flagged.index >= row["start"]) & (flagged.index <= row["end"])]
    values = {c: row[c] for c in EVENT_COLUMNS}
    return LiveEvent(**values, first=int(inside.iloc[0]), last=int(inside.iloc[-1]))


# ---- tables for the page ------------------------------------------------------------------------
def events_table(state: LiveState) -> pd.DataFrame:
    """Live events, newest first, with the offline event columns."""
    cols = list(EVENT_COLUMNS)
    if not state.events:
        return pd.DataFrame(columns=cols)
    rows = [{c: getattr(e, c) for c in cols} for e in reversed(state.events)]
    return pd.DataFrame(rows, columns=cols)


def injections_table(state: LiveState) -> pd.DataFrame:
    """Injected faults with where they started and their detection delay (readings)."""
    return injected_table(state.injections)


def counters(state: LiveState) -> dict[str, int]:
    return {
        "readings": state.position,
        "flagged": state.n_flagged,
        "events": state.n_events,
        "injected": len(state.injections),
        "detected": sum(i.detected is not None for i in state.injections),
    }


def _maybe_refit(state: LiveState) -> LiveState:
    """Optional: refit a copy of the detector on the rolling window every ``refit_every`` readings
    (live then drifts from offline detection on purpose; off by default)."""
    s = state.settings
    if not s.refit_every or state.since_refit < s.refit_every:
        return state
    window = state.buffer.loc[:, list(state.columns)].iloc[-s.refit_window :]
    if window["value"].notna().sum() < type(state.detector).min_points:
        return state
    fresh = type(state.detector)(**state.detector.get_params()).fit(window)
    return replace(state, detector=fresh, since_refit=0, n_refits=state.n_refits + 1)
