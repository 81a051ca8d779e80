"""judge_last: the newest reading judged from its lookback window equals run_detection(warmup)."""

from __future__ import annotations

import numpy as np
import pytest

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
    assert len(last.scored) == det.lookback(frame.index) + 1 < len(frame)
    for col in ("score", "expected", "lower", "upper"):
        assert last.scored[col].iloc[-1] == pytest.approx(full.scored[col].iloc[-1], rel=1e-12)
    assert bool(last.flags.iloc[-1]) == bool(full.flags.iloc[-1]) == spike
    assert not last.flags.iloc[:-1].any()
    assert len(last.events) == len(full.events) == int(spike)
    if spike:
        a, b = last.events.iloc[0], full.events.iloc[0]
        assert (a.start, a.end, a.type, a.cause) == (b.start, b.end, b.type, b.cause)
        assert np.isclose(a.excess, b.excess)
