"""The learned detector: learns from labels, says what is missing, saves safely, is explainable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.detect.detectors import REGISTRY
from core.detect.detectors.learned import LearnedDetector, label_shortfall
from core.detect.evaluation import simulated_feedback
from core.detect.pipeline import DetectorSettings, fit_detector
from core.store.model_files import load_detector, save_detector
from tests.labels.conftest import feedback


@pytest.fixture(scope="module")
def fitted(series) -> LearnedDetector:
    frame, _ = series
    return LearnedDetector(max_iter=60).fit(frame, labels=feedback(frame.index))


def test_it_is_registered_and_supervised():
    """``learned`` sits in the REGISTRY and declares that fit takes labels."""
    assert REGISTRY["learned"] is LearnedDetector and LearnedDetector.supervised


def test_labels_train_a_model_that_ranks_confirmed_kinds_high(fitted, series):
    """With enough labels a gradient-boosted model is trained and the injected anomalies score
    above 95 % of clean readings."""
    frame, injected = series
    assert fitted.model_ is not None and fitted.shortfall_ == ""
    s = fitted.score(frame)
    clean = s[injected == 0].dropna()
    assert float((clean < s[injected == 1].median()).mean()) > 0.95


def test_a_dismissed_kind_scores_lower_than_without_labels(series):
    """The injected level shift, called expected by the person, ranks lower once labels are learned."""
    frame, _ = series
    y = feedback(frame.index)
    y.iloc[872:896] = 0.0  # the level shift: "planned work"
    plain = LearnedDetector().fit(frame).calibrated(frame).iloc[872:896].mean()
    blended = LearnedDetector(max_iter=60).fit(frame, labels=y).calibrated(frame)
    alone = LearnedDetector(max_iter=60, ensemble_weight=0.0).fit(frame, labels=y).calibrated(frame)
    assert blended.iloc[872:896].mean() < plain - 0.1  # the ensemble's evidence still counts
    assert alone.iloc[872:896].mean() < plain - 0.5


def test_too_few_labels_fall_back_to_the_ensemble_and_say_what_is_missing(series):
    """One confirmed span and none dismissed: no model, the ensemble's ranking, a clear shortfall."""
    frame, _ = series
    y = pd.Series(np.nan, index=frame.index)
    y.iloc[702:703] = 1.0
    det = LearnedDetector().fit(frame, labels=y)
    assert det.model_ is None
    assert det.shortfall_ == label_shortfall(y)
    assert "2 more confirmed anomalies" in det.shortfall_ and "2 more dismissed" in det.shortfall_
    ens = REGISTRY["ensemble"]().fit(frame).calibrated(frame)
    assert det.score(frame).corr(ens, method="spearman") > 0.999


def test_labels_other_than_0_1_nan_are_refused(series):
    """A label of 2 is a ValueError naming the allowed values."""
    frame, _ = series
    with pytest.raises(ValueError, match="1 .anomaly., 0"):
        LearnedDetector().fit(frame, labels=pd.Series(2.0, index=frame.index))


def test_save_load_round_trip_scores_identically(fitted, series, tmp_path):
    """The fitted model goes through the skops allow-list (no pickle) and scores the same."""
    frame, _ = series
    save_detector(fitted, tmp_path / "m")
    back = load_detector(tmp_path / "m", REGISTRY)
    pd.testing.assert_series_equal(back.calibrated(frame), fitted.calibrated(frame))


def test_fit_detector_keys_the_model_on_the_labels(series, tmp_path):
    """Other labels never load a model trained on these: the folder key includes them."""
    frame, _ = series
    settings = DetectorSettings.of("learned", max_iter=30)
    y = feedback(frame.index)
    a = fit_detector(frame, "d" * 64, settings, labels=y, root=tmp_path, pretrained=None)
    again = fit_detector(frame, "d" * 64, settings, labels=y, root=tmp_path, pretrained=None)
    other = fit_detector(frame, "d" * 64, settings, root=tmp_path, pretrained=None)
    assert a.model_ is not None and again.model_ is not None and other.model_ is None
    assert len(list(tmp_path.glob("*/learned-*"))) == 2


def test_shap_explains_the_learned_model(fitted, series):
    """Tree SHAP runs on the model over the detector's own features; contributions add up."""
    import shap

    frame, _ = series
    x = fitted.features(frame).iloc[795:805]
    explainer = shap.TreeExplainer(fitted.model_)
    values = explainer.shap_values(x.to_numpy())
    margin = fitted.model_.decision_function(x.to_numpy())
    np.testing.assert_allclose(values.sum(axis=1) + explainer.expected_value, margin, atol=1e-4)


def test_simulated_feedback_confirms_labels_and_dismisses_false_flags(series):
    """Before the date: labelled runs confirmed, flags touching none dismissed; after it: unknown."""
    frame, injected = series
    flags = pd.Series(False, index=frame.index)
    flags.iloc[[10, 11, 702, 900]] = True
    y = simulated_feedback(injected.astype(float), flags, frame.index[850])
    assert (y.iloc[702:703] == 1).all() and (y.iloc[10:12] == 0).all()
    assert y.iloc[850:].isna().all() and y.iloc[12:600].isna().all()
