"""judge_last: the newest reading judged from its lookback window equals run_detection(warmup)."""

from __future__ import annotations

import numpy as np
import pytest

from core.detect.detectors.ensemble import FAULT_FLOOR
from core.detect.pipeline import DetectorSettings, causal_settings, make_detector
from core.detect.run import judge_last, learn_reference, run_detection
from core.detect.thresholds import ThresholdSettings
from tests.conftest import synthetic_frame


@pytest.fixture(scope="module")
def fitted():
    """A 15-minute frame longer than the ensemble's lookback, the causal ensemble fitted on it."""
    frame = synthetic_frame(n_days=36, freq="15min", seed=4)[["value"]]
    settings = causal_settings(DetectorSettings("ensemble"))
    return frame, settings, make_detector(settings).fit(frame.iloc[:-1])


@pytest.mark.parametrize("spike", [False, True])
def test_judge_last_equals_run_detection_after_a_warmup(fitted, spike: bool) -> None:
    """Score, band, flag and events of the newest reading are run_detection's, from a window."""
    frame, settings, det = fitted
    frame = frame.copy()
    if spike:
        frame.iloc[-1, 0] = frame["value"].iloc[-1] * 4 + 50
    threshold = ThresholdSettings(k=2.0)
    full = run_detection(
        frame, settings, threshold, freq="15min", unit="kWh", detector=det, warmup=len(frame) - 1
    )
    reference = learn_reference(det, frame.iloc[:-1], threshold)
    last = judge_last(frame, det, reference, threshold, freq="15min", unit="kWh")
    assert det.lookback(frame.index) + 1 < len(frame)
    assert list(last.scored.index) == [frame.index[-1]]  # the one reading judged
    for col in ("value", "score", "raw_score", "expected", "lower", "upper", "deviation"):
        assert last.scored[col].iloc[-1] == pytest.approx(full.scored[col].iloc[-1], rel=1e-12)
    assert bool(last.flags.iloc[-1]) == bool(full.flags.iloc[-1]) == spike
    assert len(last.events) == len(full.events) == int(spike)
    if spike:
        a, b = last.events.iloc[0], full.events.iloc[0]
        assert (a.start, a.end, a.type, a.cause) == (b.start, b.end, b.type, b.cause)
        assert np.isclose(a.excess, b.excess)


@pytest.mark.parametrize(
    "name, causal",
    [("ensemble", True), ("ensemble", False), ("isolation_forest", True), ("meter_fault", True)],
)
@pytest.mark.parametrize("n", [1, 5])
def test_score_tail_is_the_tail_of_score(name: str, causal: bool, n: int) -> None:
    """score_tail / calibrated_tail give the last n of score / calibrated, faults and gaps in."""
    frame = synthetic_frame(n_days=30, freq="1h", seed=7)[["value"]].copy()
    settings = DetectorSettings(name)
    det = make_detector(causal_settings(settings) if causal else settings).fit(frame)
    stuck = frame.iloc[-400:].copy()
    stuck.iloc[-16:, 0] = stuck["value"].iloc[-17]  # a stuck meter, sure from 12 h on
    gap = frame.iloc[-400:].copy()
    gap.iloc[-n - 1, 0] = np.nan  # a missing reading inside the smoothing window
    for window in (stuck, gap):
        for tail, full in (
            (det.score_tail(window, n), det.score(window)),
            (det.calibrated_tail(window, n), det.calibrated(window)),
        ):
            assert list(tail.index) == list(window.index[-n:])
            np.testing.assert_allclose(tail.to_numpy(), full.to_numpy()[-n:], rtol=1e-12)
    if name == "ensemble":  # the fault floor reaches the tail
        assert (det.calibrated_tail(stuck, n) >= FAULT_FLOOR).all()
