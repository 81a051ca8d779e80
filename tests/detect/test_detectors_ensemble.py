"""The default ensemble: members, combination on the calibrated scale, and feature access."""

from __future__ import annotations

import numpy as np
import pytest

from core.detect.detectors import REGISTRY
from core.detect.detectors.ensemble import DEFAULT_K, DEFAULT_MEMBERS, EnsembleDetector
from core.detect.detectors.isolation_forest import IsolationForestDetector
from tests.conftest import inject_anomalies, synthetic_frame


def test_default_members_are_registered_and_fast_ones():
    """The default members exist and none of them is a slow deep model."""
    assert set(DEFAULT_MEMBERS) <= set(REGISTRY)
    assert not {"lstm", "prophet"} & set(DEFAULT_MEMBERS)
    assert 1.5 < DEFAULT_K < 4


def test_members_are_nested_fitted_detectors_with_their_params():
    """``members_`` maps each name to a fitted detector built with ``member_params``."""
    frame, _ = inject_anomalies(synthetic_frame())
    det = EnsembleDetector(
        members=("isolation_forest", "seasonal_naive"),
        member_params={"isolation_forest": {"n_estimators": 20}},
    ).fit(frame)
    assert list(det.members_) == ["isolation_forest", "seasonal_naive"]
    assert det.members_["isolation_forest"].n_estimators == 20
    assert all(m.is_fitted for m in det.members_.values())
    assert det.forecasting  # seasonal naive forecasts
    assert det.member_scores(frame).shape == (len(frame), 2)


def test_max_without_smoothing_is_the_largest_member_score():
    """combine='max' with no smoothing is exactly the row-wise max of calibrated member scores."""
    frame, _ = inject_anomalies(synthetic_frame())
    det = EnsembleDetector(
        members=("seasonal_naive", "rolling_z"), combine="max", smooth_hours=0
    ).fit(frame)
    expect = det.member_scores(frame).max(axis=1, skipna=True)
    np.testing.assert_allclose(det.score(frame).to_numpy(), expect.to_numpy())


def test_unknown_member_is_a_clear_error():
    """An unknown member name fails at fit with the list of valid names."""
    with pytest.raises(ValueError, match="unknown ensemble members"):
        EnsembleDetector(members=("nope",)).fit(synthetic_frame(n_days=7))


def test_feature_detectors_expose_the_rows_their_model_sees():
    """``features(frame)`` returns the model's input columns on the frame's index (for SHAP)."""
    frame = synthetic_frame(n_days=14)
    det = IsolationForestDetector(n_estimators=10).fit(frame)
    x = det.features(frame)
    assert list(x.columns) == det.columns_ and x.index.equals(frame.index)
    assert np.isfinite(x.to_numpy()).all()
    assert "temperature" in det.columns_
