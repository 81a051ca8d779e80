"""Explanations: SHAP adds up to the model's own output, sentences name what mattered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.explain.explainers import member
from core.explain.forest import explain_forest_point, global_forest
from core.explain.sentence import explanation_sentence, peak_time
from core.explain.types import ExplainError, Explanation
from tests.conftest import INJECTED, inject_anomalies, synthetic_frame


@pytest.fixture(scope="module")
def forest_case():
    from core.detect.detectors.isolation_forest import IsolationForestDetector

    frame, labels = inject_anomalies(synthetic_frame())
    det = IsolationForestDetector(n_estimators=60, max_samples=256).fit(frame)
    return det, frame, labels


def test_forest_shap_adds_up_to_the_detector_score(forest_case):
    """base + sum(SHAP) is -E[path length]; through c(n) it gives score_samples and the raw score."""
    det, frame, labels = forest_case
    raw = det.score(frame)
    forest = det.model_[-1]
    scaler = det.model_[:-1]
    for ts in [labels[labels == 1].index[0], frame.index[500], frame.index[-1]]:
        e = explain_forest_point(det, frame, ts)
        assert e.base_value + e.values.sum() == pytest.approx(e.model_output, abs=1e-9)
        c = e.extra["path_length_norm"]
        score_samples = -(2 ** (e.model_output / c))
        x = scaler.transform(det.features(frame).loc[[ts]].to_numpy())
        assert score_samples == pytest.approx(float(forest.score_samples(x)[0]), abs=1e-9)
        assert -score_samples == pytest.approx(float(raw.loc[ts]), abs=1e-9)  # flipped once
        decision = float(forest.decision_function(x)[0])  # score_samples shifted by the offset
        assert score_samples - forest.offset_ == pytest.approx(decision, abs=1e-9)
        assert len(e.values) == len(e.feature_names) == len(e.feature_labels) == len(e.data)


def test_forest_contributions_point_at_the_spike(forest_case):
    """An injected spike scores above a normal point, and its top drivers push towards anomalous."""
    det, frame, labels = forest_case
    spike = frame.index[24 * 28 + INJECTED["spike"][0]]
    normal = frame.index[24 * 28 - 100]
    e_spike = explain_forest_point(det, frame, spike)
    e_normal = explain_forest_point(det, frame, normal)
    assert e_spike.model_output > e_normal.model_output
    assert e_spike.top(1)["value"].iloc[0] > 0


def test_global_view_is_a_seeded_bounded_sample(forest_case):
    """At most ``sample`` rows, the same rows for the same seed, importance sorted by mean |SHAP|."""
    det, frame, _ = forest_case
    g = global_forest(det, frame, sample=300, seed=3)
    assert g.values.shape == (300, len(det.columns_)) == g.data.shape
    assert g.index.equals(global_forest(det, frame, sample=300, seed=3).index)
    imp = g.importance()
    assert imp["mean_abs"].is_monotonic_decreasing
    assert set(imp["feature"]) == set(det.columns_)


def test_sentence_names_the_top_feature_by_its_label(forest_case):
    """The sentence carries the readable label of the biggest contributor, not its column name."""
    det, frame, labels = forest_case
    ts = frame.index[24 * 28 + INJECTED["spike"][0]]
    e = explain_forest_point(det, frame, ts)
    point = {"time": ts, "value": frame.at[ts, "value"], "expected": 50.0, "type": "spike"}
    sentence = explanation_sentence(point, e)
    top = e.top(1)["label"].iloc[0]
    assert top in sentence and top in e.feature_labels
    assert "it stood out mostly because of the " in sentence and "× the usual" in sentence


def test_sentence_sums_features_that_share_a_label():
    """hour_sin and hour_cos are one thing to a reader: their contributions add up under one label."""
    e = Explanation(
        values=np.array([0.9, 0.8, 1.2, -0.3]),
        base_value=-10.0,
        feature_names=("hour_sin", "hour_cos", "diff_1", "weekend"),
        feature_labels=(
            "hour of day",
            "hour of day",
            "change from the previous reading",
            "weekend",
        ),
        data=np.zeros(4),
        model_output=-7.4,
        method="isolation_forest",
        output="",
    )
    ts = pd.Timestamp("2024-01-02 03:00")  # a Tuesday night
    sentence = explanation_sentence({"time": ts, "value": 24.0, "expected": 10.0}, e, unit="kWh")
    assert sentence.startswith(
        "Consumption at 03:00 on Tuesday 2 January 2024 was 2.4× the usual night load "
        "(24.0 kWh against 10.0 kWh expected)"
    )
    assert sentence.endswith(
        "it stood out mostly because of the hour of day and the change from the previous reading."
    )
    assert "(+" not in sentence  # SHAP units mean nothing to a reader


def test_a_forecast_sentence_states_one_expected_value_with_its_unit():
    """Prophet's sentence gives its own forecast as the expected value (once), contributions in
    the data unit, and no jargon."""
    e = Explanation(
        values=np.array([30.0, -4.0]),
        base_value=200.0,
        feature_names=("weekly", "daily"),
        feature_labels=("weekly pattern", "daily pattern"),
        data=np.zeros(2),
        model_output=226.0,
        method="prophet",
        output="kW",
    )
    point = {"time": pd.Timestamp("2019-03-05 13:00"), "value": 520.0, "expected": 180.0}
    sentence = explanation_sentence(point, e, unit="kW")
    assert "(520.0 kW where Prophet expected 226.0 kW)" in sentence and "180" not in sentence
    assert "a trend of 200.0 kW, moved most by the weekly pattern (+30 kW)" in sentence
    assert "Tuesday 5 March 2019" in sentence


def test_member_finds_the_forest_inside_an_ensemble(forest_case):
    """The page explains the ensemble through its Isolation Forest member."""
    det, frame, _ = forest_case

    class Fake:
        name = "ensemble"
        members_ = {"isolation_forest": det}

    assert member(Fake(), "isolation_forest") is det
    assert member(det, "isolation_forest") is det and member(det, "lstm") is None


def test_bad_requests_raise_explain_error(forest_case):
    """A timestamp outside the data, or the wrong detector, is an ExplainError, not a traceback."""
    det, frame, _ = forest_case
    with pytest.raises(ExplainError, match="no reading"):
        explain_forest_point(det, frame, pd.Timestamp("1999-01-01"))
    from core.explain.recurrent import explain_lstm_point

    with pytest.raises(ExplainError, match="LSTM"):
        explain_lstm_point(det, frame, frame.index[-1])


def test_peak_time_is_the_highest_score_inside_the_event():
    """An event is explained at its most anomalous reading."""
    idx = pd.date_range("2024-01-01", periods=6, freq="1h")
    scored = pd.DataFrame({"score": [0, 4, 6, 5, 9, 0.0]}, index=idx)
    assert peak_time(scored, idx[1], idx[3]) == idx[2]


@pytest.mark.slow
def test_lstm_explainer_gives_one_value_per_input_position():
    """A tiny LSTM: one contribution per lag of its window and per calendar input, readable labels."""
    from core.detect.detectors.lstm import LSTMDetector
    from core.explain.recurrent import _kernel_shap, explain_lstm_point

    frame, labels = inject_anomalies(synthetic_frame(n_days=21))
    det = LSTMDetector(window=8, units=4, epochs=1, batch_size=256).fit(frame)
    ts = frame.index[-5]
    e = explain_lstm_point(det, frame, ts, background=16, nsamples=50)
    seq, exog = det._inputs(frame)
    assert len(e.values) == len(e.feature_names) == 8 + exog.shape[1]
    assert e.feature_labels[-1] == "outdoor temperature"
    assert (
        e.feature_labels[7] == "reading 1 h before" and e.feature_labels[0] == "reading 8 h before"
    )
    assert e.data[7] == pytest.approx(frame["value"].iloc[-6], rel=1e-4)
    assert e.model_output == pytest.approx(det.expected(frame).loc[ts, "expected"], rel=1e-4)
    # the model-agnostic fallback has the same shape
    pos = len(frame) - 5
    x = [seq[pos - 8][None], exog[pos][None]]
    bg = [seq[:16], exog[8:24]]
    phi_seq, phi_exog, base = _kernel_shap(det.model_, bg, x, 8, 60, 0)
    assert phi_seq.shape == (8,) and phi_exog.shape == (exog.shape[1],)


@pytest.mark.slow
def test_prophet_components_add_up_to_its_forecast():
    """Trend plus the seasonal, holiday and temperature parts is Prophet's expected reading."""
    from core.detect.detectors.prophet import ProphetDetector
    from core.explain.components import explain_prophet_point

    frame, _ = inject_anomalies(synthetic_frame(n_days=28))
    det = ProphetDetector().fit(frame)
    ts = frame.index[24 * 20 + 13]
    e = explain_prophet_point(det, frame, ts)
    assert e.base_value + e.values.sum() == pytest.approx(e.model_output, rel=1e-9)
    assert e.model_output == pytest.approx(det.expected(frame).loc[ts, "expected"], rel=1e-9)
    assert "temperature" in e.feature_names and "outdoor temperature" in e.feature_labels
    sentence = explanation_sentence({"time": ts, "value": 80.0, "expected": e.model_output}, e)
    assert e.top(1)["label"].iloc[0] in sentence and "Prophet expected" in sentence


def test_only_events_the_lstm_can_explain_are_offered():
    """The LSTM needs its window of readings before a reading: events whose peak lies in the
    first window are left out before anything is fitted; other explainers keep every event."""
    from core.detect.pipeline import DetectorSettings
    from core.explain.explainers import explainable, history_needed

    idx = pd.date_range("2024-01-01", periods=24 * 10, freq="1h")
    events = pd.DataFrame({"start": [idx[3], idx[100]], "end": [idx[5], idx[102]]})
    peaks = pd.DatetimeIndex([idx[4], idx[101]])
    needed = history_needed(DetectorSettings(detector="lstm"), "lstm", idx)
    assert needed == 24  # one day of hourly readings
    assert list(explainable(events, peaks, idx, needed).index) == [1]
    assert history_needed(DetectorSettings.of("lstm", window=8), "lstm", idx) == 8
    assert history_needed(DetectorSettings(), "isolation_forest", idx) == 0
    assert len(explainable(events, peaks, idx, 0)) == 2


@pytest.fixture(scope="module")
def learned_case():
    """The learned detector on three confirmed and three dismissed spans (few rounds: fast)."""
    from core.detect.detectors.learned import LearnedDetector
    from tests.labels.conftest import CONFIRMED, feedback

    frame, _ = inject_anomalies(synthetic_frame())
    det = LearnedDetector(max_iter=20).fit(frame, labels=feedback(frame.index))
    return det, frame, frame.index[CONFIRMED[0][0]]


def test_learned_shap_adds_up_to_the_model_log_odds(learned_case):
    """Tree SHAP of model_ over features(frame): base + sum = decision_function, one per column;
    explain_point dispatches "learned" to it."""
    from core.explain.explainers import explain_point

    det, frame, spike = learned_case
    for ts in (spike, frame.index[500], frame.index[2]):  # [2]: the week-long lags are NaN
        e = explain_point(det, frame, ts, "learned")
        assert e.method == "learned" and e.feature_names == tuple(det.columns_)
        assert e.base_value + e.values.sum() == pytest.approx(e.model_output, abs=1e-6)
        row = det.features(frame).loc[[ts]].to_numpy()
        assert e.model_output == pytest.approx(
            float(det.model_.decision_function(row)[0]), abs=1e-6
        )
        assert len(e.values) == len(e.feature_labels) == len(e.data)
    assert (
        "ratio to 24 h before" in e.feature_labels
        and "unsupervised ensemble score" in e.feature_labels
    )


def test_learned_sentence_names_inputs_without_log_odds(learned_case):
    """The confirmed spike scores above a normal reading; the sentence names its drivers by
    label, no numbers."""
    from core.explain.learned import explain_learned_point

    det, frame, spike = learned_case
    e = explain_learned_point(det, frame, spike)
    assert e.model_output > explain_learned_point(det, frame, frame.index[500]).model_output
    point = {"time": spike, "value": frame.at[spike, "value"], "expected": 50.0, "type": "spike"}
    sentence = explanation_sentence(point, e, unit="kWh")
    assert "the model learned from your labels flagged it mostly because of the " in sentence
    assert e.top(1)["label"].iloc[0] in sentence and "(+" not in sentence


def test_learned_without_enough_labels_or_not_learned_is_explain_error(learned_case, forest_case):
    """No model yet (too few labels): an ExplainError saying what is missing; another detector
    asked for its learned part: an ExplainError; offered() lists "learned" only for itself."""
    from core.detect.detectors.learned import LearnedDetector
    from core.detect.pipeline import DetectorSettings
    from core.explain.explainers import explain_point, offered
    from core.explain.learned import explain_learned_point

    det, frame, _ = learned_case
    bare = LearnedDetector(max_iter=5).fit(frame.iloc[: 24 * 10])
    with pytest.raises(ExplainError, match="more confirmed"):
        explain_learned_point(bare, frame.iloc[: 24 * 10], frame.index[30])
    with pytest.raises(ExplainError, match="no Learned from labels"):
        explain_point(forest_case[0], frame, frame.index[30], "learned")
    with pytest.raises(ExplainError, match="no reading"):
        explain_learned_point(det, frame, pd.Timestamp("1999-01-01"))
    assert offered(DetectorSettings(detector="learned"))[0] == "learned"
    assert "learned" not in offered(DetectorSettings())
