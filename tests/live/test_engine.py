"""The live simulation: causal scoring, injected faults, pause and reset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.detect.detectors.base import Detector
from core.detect.thresholds import ThresholdSettings
from core.live.engine import (
    LiveSettings,
    counters,
    events_table,
    init_state,
    inject,
    injections_table,
    next_points,
    pause,
    reset,
    start,
    step,
)
from tests.conftest import synthetic_frame


class LagDetector(Detector):
    """Causal test detector: distance from the same hour yesterday, in robust sigmas."""

    name = "test_lag"
    title = "Lag test"
    forecasting = True

    def __init__(self, lag: int = 24) -> None:
        self.lag = lag

    def _fit(self, frame, progress=None):
        d = (frame["value"] - frame["value"].shift(self.lag)).dropna()
        self.scale_ = float(1.4826 * np.median(np.abs(d - d.median())))

    def _score(self, frame):
        return ((frame["value"] - frame["value"].shift(self.lag)).abs() / self.scale_).to_numpy()

    def _expected(self, frame):
        e = frame["value"].shift(self.lag)
        return pd.DataFrame({"expected": e, "lower": e - 3, "upper": e + 3}, index=frame.index)


class CentredDetector(LagDetector):
    """Non-causal test detector: distance from a centred median, which peeks at later readings."""

    name = "test_centred"
    forecasting = False

    def _score(self, frame):
        med = frame["value"].rolling(5, center=True, min_periods=1).median()
        return ((frame["value"] - med).abs() / self.scale_).to_numpy()


def _split(n_days: int = 28, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = synthetic_frame(n_days=n_days, seed=seed)
    cut = 24 * 14
    return frame.iloc[:cut], frame.iloc[cut:]


def replay(state, stream, chunk=7, injections=None):
    """Feed ``stream`` in chunks, queueing ``injections`` ({position: kind}) just before them."""
    injections = dict(injections or {})
    state = start(state)
    while state.position < len(stream):
        if state.position in injections:
            state = inject(state, injections.pop(state.position))
        upcoming = [p for p in injections if p > state.position]
        n = min([chunk, *(p - state.position for p in upcoming)])
        state = step(state, next_points(stream, state, n))
    return state


@pytest.fixture(scope="module")
def lag_state():
    history, stream = _split()
    det = LagDetector().fit(history)
    return init_state(det, history, LiveSettings(keep=2000)), stream


def test_injected_faults_are_flagged_within_the_documented_delay(lag_state):
    """A spike and a drop to zero are flagged at the reading they hit; a meter stuck at its Tuesday 6 am
    reading is flagged within its run, as the morning load rises past it."""
    state, stream = lag_state
    final = replay(
        state, stream, chunk=5, injections={40: "spike", 100: "drop_to_zero", 198: "stuck"}
    )
    table = injections_table(final)
    assert list(table["kind"]) == ["Spike", "Drop to zero", "Stuck meter"]
    delays = {i.kind: i.delay for i in final.injections}
    assert delays["spike"] == 0
    assert delays["drop_to_zero"] == 0
    stuck = next(i for i in final.injections if i.kind == "stuck")
    assert stuck.delay is not None and stuck.delay < stuck.length
    assert final.buffer["injected"].ne("").sum() == 1 + 6 + 12
    types = set(events_table(final)["type"])
    assert {"spike", "drop_to_zero"} <= types


def test_injected_spike_is_flagged_by_isolation_forest():
    """With the real Isolation Forest, an injected spike raises a live alert at the injected reading."""
    from core.detect.detectors.isolation_forest import IsolationForestDetector

    history, stream = _split()
    det = IsolationForestDetector(n_estimators=50, max_samples=256).fit(history)
    state = init_state(det, history, LiveSettings(keep=400))
    final = replay(state, stream.iloc[:70], chunk=10, injections={30: "spike", 50: "drop_to_zero"})
    assert [i.delay for i in final.injections] == [0, 0]
    assert final.events and final.events[0].start == stream.index[30]


def test_live_score_equals_the_offline_score_of_the_series_cut_there():
    """Each live score is what scoring the whole series up to that reading gives: the automatic
    context is long enough, and nothing after the reading is seen (this forest smooths over the
    surrounding hours, so it is scored reading by reading)."""
    from core.detect.detectors.isolation_forest import IsolationForestDetector

    frame = synthetic_frame(n_days=49)
    history, stream = frame.iloc[: 24 * 42], frame.iloc[24 * 42 :]
    det = IsolationForestDetector(n_estimators=50, max_samples=256).fit(history)
    state = init_state(det, history, LiveSettings(keep=2000))
    assert state.context < len(history) and not state.batch_causal
    final = replay(state, stream.iloc[:30], chunk=6)
    live = final.buffer["score"].iloc[-30:]
    for i in (0, 7, 18, 29):
        cut = pd.concat([history, stream.iloc[: i + 1]])
        assert live.iloc[i] == pytest.approx(det.calibrated(cut).iloc[-1], abs=1e-6)


@pytest.mark.parametrize("detector_cls", [LagDetector, CentredDetector])
def test_no_future_reading_changes_a_past_score(detector_cls):
    """Shuffling the readings after position m leaves every live score before m unchanged."""
    history, stream = _split()
    det = detector_cls().fit(history)
    state = init_state(det, history, LiveSettings(keep=2000))
    m = 100
    shuffled = stream.copy()
    rng = np.random.default_rng(1)
    shuffled.iloc[m:, 0] = rng.permutation(stream["value"].to_numpy()[m:])
    a = replay(state, stream.iloc[:200], chunk=9)
    b = replay(state, shuffled.iloc[:200], chunk=9)
    past_a = a.buffer.loc[a.buffer["live"], "score"].iloc[:m]
    past_b = b.buffer.loc[b.buffer["live"], "score"].iloc[:m]
    np.testing.assert_array_equal(past_a.to_numpy(), past_b.to_numpy())
    assert not np.array_equal(a.buffer["score"].iloc[-50:], b.buffer["score"].iloc[-50:])


def test_a_detector_that_peeks_ahead_is_scored_reading_by_reading():
    """A non-causal detector is detected at start-up, and each reading is then scored alone."""
    history, stream = _split()
    state = init_state(CentredDetector().fit(history), history)
    assert not state.batch_causal
    assert init_state(LagDetector().fit(history), history).batch_causal


def test_pause_keeps_state_and_reset_clears_it(lag_state):
    """Paused, new readings are not consumed; reset returns to the warm-up history, paused."""
    state, stream = lag_state
    state = step(inject(start(state), "spike"), next_points(stream, state, 30))
    assert state.position == 30 and state.n_events >= 1
    paused = pause(state)
    after = step(paused, next_points(stream, paused, 10))
    assert after.position == 30
    assert after.buffer is paused.buffer and after.events == state.events
    resumed = step(start(after), next_points(stream, after, 10))
    assert resumed.position == 40 and resumed.events[: state.n_events] == state.events
    cleared = reset(resumed)
    assert cleared.position == 0 and not cleared.running
    assert cleared.events == () and cleared.injections == () and counters(cleared)["flagged"] == 0
    assert not cleared.buffer["live"].any()
    assert len(cleared.buffer) == len(state.initial)


def test_new_alerts_hold_only_events_opened_by_the_last_step(lag_state):
    """Each new event is alerted once (one toast), in the step that opened it."""
    state, stream = lag_state
    s = step(inject(start(state), "spike"), next_points(stream, state, 3))
    # the spike lands at 00:00 on a Monday: over-use at night, typed by the offline rules
    assert len(s.new_alerts) == 1 and s.new_alerts[0].type == "off_hours"
    s = step(s, next_points(stream, s, 3))
    assert s.new_alerts == ()


def test_threshold_direction_is_followed():
    """With direction "under", an injected spike raises no alert but a drop to zero does."""
    history, stream = _split()
    det = LagDetector().fit(history)

    settings = LiveSettings.from_threshold(ThresholdSettings(k=3.0, direction="under"), keep=600)
    assert settings.threshold.direction == "under"
    final = replay(
        init_state(det, history, settings),
        stream.iloc[:80],
        injections={20: "spike", 50: "drop_to_zero"},
    )
    spike_at, drop_at = stream.index[20], stream.index[50]
    assert not final.buffer.at[spike_at, "flag"]
    assert final.buffer.at[drop_at, "flag"] and final.injections[1].delay == 0


def test_step_rejects_readings_that_do_not_move_forward(lag_state):
    """Readings at or before the last one in the buffer are a caller error, not silently merged."""
    state, _ = lag_state
    with pytest.raises(ValueError, match="must come after"):
        step(start(state), state.buffer.iloc[-3:, :2])


def test_periodic_refit_is_off_by_default_and_works_when_set():
    """refit_every=0 never refits; a positive value refits a copy on the rolling window."""
    history, stream = _split()
    det = LagDetector().fit(history)
    off = replay(init_state(det, history), stream.iloc[:60])
    assert off.n_refits == 0 and off.detector is det
    on = replay(
        init_state(det, history, LiveSettings(refit_every=24, refit_window=24 * 7)),
        stream.iloc[:60],
    )
    assert on.n_refits == 2 and on.detector is not det and det.scale_ > 0


def test_live_figure_has_one_red_marker_per_flagged_live_reading(lag_state):
    """The chart's "Anomalies" trace is red and marks exactly the flagged stream readings in view."""
    import json

    from core.charts.live_charts import live_figure
    from core.charts.style import ANOMALY_RED

    state, stream = lag_state
    final = replay(state, stream.iloc[:60], chunk=5, injections={20: "spike", 40: "drop_to_zero"})
    spec = json.loads(live_figure(final, last=100, unit="kWh").to_json())
    traces = {t["name"]: t for t in spec["data"]}
    flagged = final.buffer.iloc[-100:]
    flagged = flagged[flagged["flag"] & flagged["live"]]
    assert traces["Anomalies"]["marker"]["color"] == ANOMALY_RED
    assert len(traces["Anomalies"]["x"]) == len(flagged) >= 7
    assert len(traces["Injected"]["x"]) == 1 + 6
    assert spec["layout"]["template"]["layout"]  # a resolved template, not just its name


def test_injected_spike_is_caught_at_once_with_the_live_page_defaults():
    """The Live page's defaults (causal ensemble, two-week warm-up, sigma 2) flag an injected spike
    on the bundled building sample at the reading it happens."""
    from core.detect.pipeline import DetectorSettings, causal_settings, make_detector
    from core.detect.thresholds import ThresholdSettings
    from core.ingest.samples import load_sample
    from core.live.engine import counters, inject, injections_table, next_points, start, step

    frame = load_sample("polito_building").frame
    warmup = 14 * 24
    det = make_detector(causal_settings(DetectorSettings())).fit(frame.iloc[:warmup])
    settings = LiveSettings.from_threshold(ThresholdSettings(), keep=500)
    state = start(init_state(det, frame.iloc[:warmup], settings))
    stream = frame.iloc[warmup:]
    for _ in range(10):
        state = step(state, next_points(stream, state, 1))
    state = inject(state, "spike")
    for _ in range(5):
        state = step(state, next_points(stream, state, 1))
    assert counters(state)["detected"] == 1
    assert injections_table(state)["delay"].iloc[0] == 0
