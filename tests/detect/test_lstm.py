"""LSTM forecast-error detector: training, scoring, determinism, progress and the pre-filter."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from core.detect.detectors._lstm_inputs import calendar_inputs, default_window, suspect_points
from core.detect.detectors.lstm import LSTMDetector
from tests.conftest import INJECTED, inject_anomalies, synthetic_frame

INJECT_AT = 24 * 28  # where conftest.inject_anomalies starts on a 42-day hourly frame
FAST = {"epochs": 3, "units": 16, "patience": 2, "batch_size": 128}


@pytest.fixture(scope="module")
def trained():
    """One small LSTM fitted on the anomalous 42-day frame, with its progress calls recorded."""
    frame, labels = inject_anomalies(synthetic_frame())
    calls: list[tuple[float, str]] = []
    det = LSTMDetector(**FAST)
    returned = det.fit(frame, progress=lambda f, m: calls.append((f, m)))
    return det, returned, frame, labels, calls


def _segment(s: pd.Series, kind: str) -> pd.Series:
    off, length = INJECTED[kind]
    return s.iloc[INJECT_AT + off : INJECT_AT + off + length]


@pytest.mark.slow
def test_fit_returns_self_and_score_has_nan_warmup(trained):
    """fit returns the detector; the score is on the frame's index, NaN for the first window only."""
    det, returned, frame, _, _ = trained
    assert returned is det
    s = det.score(frame)
    assert s.index.equals(frame.index)
    assert det.window_ == 24
    assert s.iloc[: det.window_].isna().all()
    assert np.isfinite(s.iloc[det.window_ :]).all()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["spike", "drop_to_zero"])
def test_injected_spike_and_drop_score_above_clean_99th_percentile(trained, kind):
    """A spike and a drop to zero score above the 99th percentile of the clean points."""
    det, _, frame, labels, _ = trained
    s = det.score(frame)
    p99 = np.nanquantile(s[labels == 0], 0.99)
    assert _segment(s, kind).max() > p99


@pytest.mark.slow
def test_expected_band_contains_expected(trained):
    """expected() gives lower <= expected <= upper after the warm-up, NaN before it."""
    det, _, frame, _, _ = trained
    exp = det.expected(frame)
    assert list(exp.columns) == ["expected", "lower", "upper"]
    body = exp.iloc[det.window_ :]
    assert exp.iloc[: det.window_].isna().all().all()
    assert ((body["lower"] <= body["expected"]) & (body["expected"] <= body["upper"])).all()


@pytest.mark.slow
def test_progress_is_called_once_per_epoch_with_increasing_fraction(trained):
    """The progress callback gets one (fraction, "epoch i/n — loss ...") call per epoch run."""
    det, _, _, _, calls = trained
    assert len(calls) == det.epochs_run_ >= 1
    fractions = [f for f, _ in calls]
    assert all(a < b for a, b in zip(fractions, fractions[1:], strict=False))
    assert fractions[0] > 0 and fractions[-1] <= 1.0
    assert calls[0][1].startswith(f"epoch 1/{FAST['epochs']} — loss ")


@pytest.mark.slow
def test_same_seed_gives_the_same_scores():
    """Two fits with the same seed give the same scores (to 1e-6), and seeding Keras leaves the
    caller's global NumPy generator where it was."""
    frame = synthetic_frame(n_days=14)
    params = {"epochs": 1, "units": 8, "batch_size": 128}
    np.random.seed(123)
    a = LSTMDetector(seed=3, **params).fit(frame).score(frame)
    after_fit = np.random.random()
    np.random.seed(123)
    assert after_fit == np.random.random()
    b = LSTMDetector(seed=3, **params).fit(frame).score(frame)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=0, atol=1e-6)


@pytest.mark.slow
def test_temperature_is_an_input_when_present(trained):
    """A frame with temperature trains on it; scoring a frame without it is a clear error."""
    det, _, frame, _, _ = trained
    assert det.uses_temperature_
    assert det.model_.inputs[1].shape[-1] == 6  # 5 calendar inputs + temperature
    with pytest.raises(ValueError, match="temperature"):
        det.score(frame[["value"]])


@pytest.mark.slow
def test_smoothing_is_an_ewma_of_the_score(trained):
    """smoothing is an EWMA span: 1 scores points alone, more smooths (smaller spread), and the
    NaN warm-up stays."""
    det, _, frame, _, _ = trained
    raw = copy.copy(det)
    raw.smoothing = 1
    r, sm = raw.score(frame), det.score(frame)
    assert det.smoothing == 6
    assert sm.iloc[: det.window_].isna().all()
    assert sm.std() < r.std()
    expected = r.ewm(span=6, ignore_na=True).mean()
    np.testing.assert_allclose(sm.iloc[det.window_ :], expected.iloc[det.window_ :], rtol=1e-9)


def test_prefilter_flags_injected_anomalies_but_few_clean_points():
    """The robust pre-filter keeps the spike, the zeros and the flat run out of training targets."""
    frame, labels = inject_anomalies(synthetic_frame())
    flagged = pd.Series(suspect_points(frame["value"]), index=frame.index)
    for kind in ("spike", "drop_to_zero", "flat"):
        seg = _segment(flagged, kind)
        assert seg.sum() >= len(seg) - 1, kind  # a flat run's first reading is a real one
    assert flagged[labels == 0].mean() < 0.02


def test_calendar_inputs_and_default_window():
    """Calendar inputs are unit-circle hour/weekday plus a holiday flag; the window is one day."""
    idx = pd.date_range("2023-12-24", periods=72, freq="1h")
    cal = calendar_inputs(idx, country="GB")
    assert cal.shape == (72, 5)
    np.testing.assert_allclose(cal[:, 0] ** 2 + cal[:, 1] ** 2, 1.0)
    assert cal[:24, 4].sum() == 0 and cal[24:72, 4].all()  # 25 and 26 December
    assert default_window(idx) == 24
    assert default_window(pd.date_range("2023-01-01", periods=10, freq="15min")) == 48
    assert default_window(pd.date_range("2023-01-01", periods=10, freq="1D")) == 14


@pytest.mark.slow
def test_save_load_round_trip_gives_identical_scores(trained, tmp_path):
    """core.store.model_files saves the Keras model as .keras and the rest as plain values: same scores back."""
    from core.detect.detectors import REGISTRY
    from core.store.model_files import load_detector, save_detector

    det, _, frame, _, _ = trained
    back = load_detector(save_detector(det, tmp_path / "lstm"), REGISTRY)
    assert (tmp_path / "lstm" / "model_.keras").exists()
    np.testing.assert_allclose(back.score(frame), det.score(frame), rtol=1e-6, equal_nan=True)
