"""Isolation Forest scores: the direct walk through the trees equals scikit-learn's score_samples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from core.detect.detectors.isolation_forest import IsolationForestDetector, _forest_scores
from tests.conftest import synthetic_frame


@pytest.mark.parametrize("max_features", [1.0, 0.5])
def test_forest_scores_equal_score_samples(max_features: float) -> None:
    """Every row's score is the very float scikit-learn gives, with and without feature subsets."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(600, 8))
    forest = IsolationForest(n_estimators=40, max_features=max_features, random_state=0).fit(x)
    rows = np.vstack([x[:50], rng.normal(0, 4, size=(20, 8)), x[-1:]])
    assert np.array_equal(_forest_scores(forest, rows), forest.score_samples(rows))


def test_detector_scores_equal_the_pipeline_scores() -> None:
    """The detector's raw score is the pipeline's negated score_samples on the same features."""
    frame = synthetic_frame(n_days=21, seed=5)
    det = IsolationForestDetector(n_estimators=30).fit(frame)
    x = det.features(frame).to_numpy(dtype=float)
    ok = np.isfinite(x).all(axis=1)
    assert np.array_equal(det.score(frame).to_numpy()[ok], -det.model_.score_samples(x[ok]))
