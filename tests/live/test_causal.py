"""``causal=True`` detectors never look ahead, so the Live page can score a batch at once."""

import numpy as np
import pytest

from core.detect.pipeline import DetectorSettings, causal_settings, make_detector
from core.live.engine import LiveSettings, init_state
from tests.conftest import inject_anomalies, synthetic_frame


@pytest.mark.parametrize("name", ["isolation_forest", "lof", "ocsvm", "ensemble"])
def test_causal_scores_of_a_prefix_equal_the_prefix_of_scores(name):
    """Changing readings after a point never changes its causal score."""
    frame, _ = inject_anomalies(synthetic_frame(n_days=42))
    det = make_detector(causal_settings(DetectorSettings(detector=name))).fit(frame)
    assert det.get_params()["causal"] is True
    cut = len(frame) - 50
    full = det.score(frame).to_numpy()[:cut]
    future_changed = frame.copy()
    future_changed.iloc[cut:, 0] = future_changed["value"].iloc[cut:].to_numpy()[::-1] * 3
    changed = det.score(future_changed).to_numpy()[:cut]
    np.testing.assert_allclose(full, changed, equal_nan=True)


def test_default_ensemble_looks_ahead_but_its_causal_twin_streams_in_batches():
    """Offline scores use a centred window; the live twin is batch-causal."""
    frame = synthetic_frame(n_days=35)
    offline = make_detector(DetectorSettings()).fit(frame)
    live = make_detector(causal_settings(DetectorSettings())).fit(frame)
    assert not init_state(offline, frame, LiveSettings(keep=100)).batch_causal
    assert init_state(live, frame, LiveSettings(keep=100)).batch_causal
