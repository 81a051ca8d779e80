"""LSTM forecast-error detector: inputs (cleaning, seasonal lags), local scale, causality, training,
progress, forecasting, and a real fit on a labelled LEAD building."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from core.detect.detectors._lstm_inputs import (
    LOCAL_FLOOR,
    calendar_inputs,
    default_window,
    local_scale,
    profile_before,
    seasonal_lags,
    seasonal_steps,
    suspect_points,
)
from core.detect.detectors.lstm import CONTEXT_NAMES, LSTMDetector
from core.detect.profile import fit_profile
from core.ingest.data import CleanOptions, Schema, parse_upload
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


def _unsmoothed(det: LSTMDetector) -> LSTMDetector:
    raw = copy.copy(det)
    raw.smoothing = 1
    raw._forget_scores()
    return raw


# ---- training and scores -------------------------------------------------------------------------
@pytest.mark.slow
def test_fit_returns_self_and_score_has_nan_warmup(trained):
    """fit returns the detector; the score is on the frame's index, NaN for the first window only."""
    det, returned, frame, _, _ = trained
    assert returned is det
    s = det.score(frame)
    assert s.index.equals(frame.index)
    assert det.window_ == 24 and det.lags_ == [24, 168]
    assert s.iloc[: det.window_].isna().all()
    assert np.isfinite(s.iloc[det.window_ :]).all()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["spike", "drop_to_zero", "level_shift"])
def test_injected_anomalies_score_above_clean_99th_percentile(trained, kind):
    """A spike, a drop to zero and a level shift score above the 99th percentile of clean points."""
    det, _, frame, labels, _ = trained
    s = det.score(frame)
    p99 = np.nanquantile(s[labels == 0], 0.99)
    assert _segment(s, kind).max() > p99


@pytest.mark.slow
def test_every_reading_of_a_drop_to_zero_is_surprising(trained):
    """Unsmoothed, each of the six zeros scores above the clean 99th percentile: the forecast
    does not follow the drop (it never trained on one, and its lags and profile say otherwise)."""
    det, _, frame, labels, _ = trained
    s = _unsmoothed(det).score(frame)
    p99 = np.nanquantile(s[labels == 0], 0.99)
    assert (_segment(s, "drop_to_zero") > p99).all()


@pytest.mark.slow
def test_inputs_read_the_usual_reading_instead_of_an_anomaly(trained):
    """The window after the spike and the day lag a day later hold the profile's usual reading,
    not the spike; a clean reading is passed on as it is."""
    det, _, frame, _, _ = trained
    seq, exog = det._inputs(frame)
    i = INJECT_AT + INJECTED["spike"][0]
    usual = det._scaled(det._profile().expected(frame.index[i : i + 1]))[0]
    assert seq[i + 1 - det.window_, -1, 0] == pytest.approx(usual, abs=1e-5)
    day = CONTEXT_NAMES.index("same_time_yesterday")
    assert exog[i + 24, day] == pytest.approx(usual, abs=1e-5)
    clean = det._scaled(frame["value"].iloc[i - 1])
    assert seq[i - det.window_, -1, 0] == pytest.approx(clean, abs=1e-5)


@pytest.mark.slow
def test_scores_are_causal_and_lookback_is_enough(trained):
    """A score depends on its reading and earlier ones only: scoring a prefix gives the same
    scores, and the last ``lookback`` readings give the last score."""
    det, _, frame, _, _ = trained
    full = det.score(frame).to_numpy()
    n = INJECT_AT + 100  # inside the injected anomalies
    prefix = det.score(frame.iloc[:n]).to_numpy()
    np.testing.assert_allclose(prefix, full[:n], rtol=1e-4, atol=1e-5, equal_nan=True)
    back = det.lookback(frame.index)
    assert back == det.window_ + 168 + 6 + 62  # window, week lag, flat run, EWMA memory
    tail = det.score(frame.iloc[-(back + 1) :]).to_numpy()
    assert tail[-1] == pytest.approx(full[-1], rel=1e-4)


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
def test_context_inputs_are_named_and_temperature_comes_last(trained):
    """The context input holds calendar, lags, usual reading and temperature, as ``input_names_``
    says; scoring a frame without the temperature it was trained with is a clear error."""
    det, _, frame, _, _ = trained
    assert det.uses_temperature_
    assert det.input_names_ == [*CONTEXT_NAMES, "temperature"]
    assert det.model_.inputs[1].shape[-1] == len(det.input_names_)
    with pytest.raises(ValueError, match="temperature"):
        det.score(frame[["value"]])


@pytest.mark.slow
def test_smoothing_is_an_ewma_of_the_score(trained):
    """smoothing is an EWMA span: 1 scores points alone, more smooths (smaller spread), and the
    NaN warm-up stays."""
    det, _, frame, _, _ = trained
    r, sm = _unsmoothed(det).score(frame), det.score(frame)
    assert det.smoothing == 6
    assert sm.iloc[: det.window_].isna().all()
    assert sm.std() < r.std()
    expected = r.ewm(span=6, ignore_na=True).mean()
    np.testing.assert_allclose(sm.iloc[det.window_ :], expected.iloc[det.window_ :], rtol=1e-9)


@pytest.mark.slow
def test_save_load_round_trip_gives_identical_scores(trained, tmp_path):
    """core.store.model_files saves the Keras model as .keras and the rest as plain values: same scores back."""
    from core.detect.detectors import REGISTRY
    from core.store.model_files import load_detector, save_detector

    det, _, frame, _, _ = trained
    back = load_detector(save_detector(det, tmp_path / "lstm"), REGISTRY)
    assert (tmp_path / "lstm" / "model_.keras").exists()
    np.testing.assert_allclose(back.score(frame), det.score(frame), rtol=1e-6, equal_nan=True)


# ---- forecasting ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_forecast_first_step_is_the_one_step_prediction(trained):
    """The first forecast step reads the same window and lags as ``expected`` does for it."""
    det, _, frame, _, _ = trained
    fc = det.forecast(frame.iloc[:-1], frame.index[-1:], frame["temperature"].to_numpy()[-1:])
    one_step = det.expected(frame)["expected"].iloc[-1]
    assert fc["expected"].iloc[0] == pytest.approx(one_step, rel=1e-4)


@pytest.mark.slow
def test_forecast_beyond_a_week_feeds_its_own_predictions(trained):
    """Nine days ahead (past the week lag) the forecast stays finite, keeps the daily cycle, and
    its band only widens with the horizon, up to the spread of the training readings."""
    det, _, frame, _, _ = trained
    index = pd.date_range(frame.index[-1] + pd.Timedelta("1h"), periods=24 * 9, freq="1h")
    fc = det.forecast(frame, index, np.full(len(index), 10.0))
    assert np.isfinite(fc.to_numpy()).all()
    last_day = fc["expected"].iloc[-24:]
    assert last_day.max() - last_day.min() > 10  # the synthetic day swings ~30 around 13:00
    width = (fc["upper"] - fc["lower"]).to_numpy()
    assert (np.diff(width) >= -1e-9).all() and width[-1] > width[0]
    assert width.max() <= max(det.value_spread_, width[0]) + 1e-9


# ---- inputs (no network) -------------------------------------------------------------------------
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


def test_seasonal_lags_shift_and_pad_with_the_profile():
    """A lag reads the reading that many steps before; before the frame starts, the profile's
    usual reading at that earlier time stands in."""
    idx = pd.date_range("2023-01-02", periods=24 * 14, freq="1h")
    values = np.arange(len(idx), dtype=float)
    profile = fit_profile(pd.Series(values % 24, index=idx))
    assert seasonal_steps(idx) == (24, 168)
    assert seasonal_steps(pd.date_range("2023-01-01", periods=5, freq="1D")) == (1, 7)
    lags = seasonal_lags(values, idx, profile, (24, 168))
    assert lags.shape == (len(idx), 2)
    np.testing.assert_array_equal(lags[168:, 1], values[:-168])
    np.testing.assert_array_equal(lags[24:, 0], values[:-24])
    np.testing.assert_array_equal(lags[:24, 0], profile_before(profile, idx, 24))
    np.testing.assert_array_equal(lags[:24, 0], np.arange(24.0))  # the usual reading per hour


def test_local_scale_follows_the_hour_of_the_week_and_falls_back():
    """Residual sigma per hour of the week when there are enough weeks, per hour of the day for a
    few weeks; every sigma is floored at a share of the overall one."""
    rng = np.random.default_rng(0)

    def resid(weeks: int) -> tuple[np.ndarray, pd.DatetimeIndex]:
        idx = pd.date_range("2023-01-02", periods=24 * 7 * weeks, freq="1h")
        busy = (idx.hour >= 8) & (idx.hour < 18)
        spread = np.where(busy, 4.0, 1.0) * np.where(idx.dayofweek >= 5, 0.5, 1.0)
        return rng.normal(0, 1, len(idx)) * spread + 2.0, idx

    center, sigma = local_scale(*resid(52))
    monday_noon, saturday_noon, monday_3am = 12, 5 * 24 + 12, 3
    assert sigma[monday_noon] == pytest.approx(4.0, rel=0.3)
    assert sigma[saturday_noon] == pytest.approx(2.0, rel=0.3)
    assert sigma[monday_3am] < 0.4 * sigma[monday_noon]
    assert np.median(center) == pytest.approx(2.0, abs=0.3)

    _, short = local_scale(*resid(6))  # 6 per hour of the week: the hour of the day decides
    assert short[monday_noon] == short[saturday_noon] > 2 * short[monday_3am]

    r, idx = resid(52)
    r[idx.hour == 3] = 2.0  # a perfectly predictable hour
    _, floored = local_scale(r, idx)
    overall = 1.4826 * np.median(np.abs(r - np.median(r)))
    assert floored[monday_3am] == pytest.approx(LOCAL_FLOOR * overall, rel=1e-6)


# ---- a real meter --------------------------------------------------------------------------------
@pytest.mark.slow
def test_real_building_forecasts_better_than_last_week_and_ranks_labelled_hours(shared_data):
    """On a year of a real labelled building, three epochs already forecast the unlabelled hours
    better than "same time last week" does, and rank the labelled hours high."""
    from sklearn.metrics import roc_auc_score

    path = shared_data / "lead_dev" / "building_118.csv"
    ds = parse_upload(path.read_bytes(), path.name, Schema(), CleanOptions())
    labels, frame = ds.frame["label"], ds.frame.drop(columns="label")
    det = LSTMDetector(epochs=3, seed=0).fit(frame)
    value = frame["value"]
    normal = (labels == 0) & value.notna()
    lstm_err = (value - det.expected(frame)["expected"]).abs()[normal].mean()
    week_err = (value - value.shift(168)).abs()[normal].mean()
    assert lstm_err < 0.8 * week_err
    s = det.score(frame)
    ok = s.notna() & labels.notna()
    assert roc_auc_score(labels[ok], s[ok]) > 0.85
