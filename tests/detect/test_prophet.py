"""Prophet residual detector: score vs the band, holidays, temperature regressor, seasonalities."""

from __future__ import annotations

import numpy as np
import pytest

from core.detect.detectors.prophet import ProphetDetector
from tests.conftest import INJECTED, inject_anomalies, synthetic_frame

pytestmark = pytest.mark.slow  # every test here fits Prophet (a few seconds each)

INJECT_AT = 24 * 28


@pytest.fixture(scope="module")
def anomalous():
    return inject_anomalies(synthetic_frame())


@pytest.fixture(scope="module")
def fitted(anomalous):
    return ProphetDetector().fit(anomalous[0])


def test_score_is_below_one_inside_the_band_and_above_outside(fitted, anomalous):
    """The score is |y - yhat| / half-width: <= 1 inside the interval, > 1 outside it."""
    frame, _ = anomalous
    s = fitted.score(frame)
    exp = fitted.expected(frame)
    y = frame["value"]
    inside = (y >= exp["lower"]) & (y <= exp["upper"])
    assert inside.mean() > 0.8 and (~inside).any()
    assert (s[inside] <= 1 + 1e-9).all()
    assert (s[~inside] > 1 - 1e-9).all()
    off, length = INJECTED["spike"]
    assert s.iloc[INJECT_AT + off] > 3  # a spike is far outside the band


def test_expected_has_lower_le_expected_le_upper(fitted, anomalous):
    """expected() is a DataFrame[expected, lower, upper] on the index, ordered, no NaN."""
    frame, _ = anomalous
    exp = fitted.expected(frame)
    assert list(exp.columns) == ["expected", "lower", "upper"]
    assert exp.index.equals(frame.index) and exp.notna().all().all()
    assert ((exp["lower"] <= exp["expected"]) & (exp["expected"] <= exp["upper"])).all()


def test_seasonalities_follow_the_span(fitted):
    """42 hourly days: weekday and weekend daily profiles and weekly, no yearly; temperature used."""
    seasons = set(fitted.model_.seasonalities)
    assert {"weekly", "daily_weekday", "daily_weekend"} <= seasons
    assert "yearly" not in seasons and "daily" not in seasons
    assert "temperature" in fitted.model_.extra_regressors
    assert fitted.uses_temperature_


def test_country_holidays_change_the_model(fitted, anomalous):
    """country="US" adds Martin Luther King Jr. Day (16 Jan 2023), which moves the fit that day."""
    frame, _ = anomalous
    us = ProphetDetector(country="US").fit(frame)
    assert any("Martin Luther King" in h for h in us.model_.train_holiday_names)
    assert fitted.model_.train_holiday_names is None
    mlk = frame.index.normalize() == np.datetime64("2023-01-16")
    moved = (us.expected(frame)["expected"] - fitted.expected(frame)["expected"])[mlk]
    assert moved.abs().max() > 0.5
    assert "holidays" in us.components(us.predict(frame)).columns


def test_without_temperature_no_regressor_and_scoring_needs_it(fitted, anomalous):
    """Without a temperature column (or with use_temperature=False) there is no regressor; a model
    that uses temperature refuses a frame without it."""
    frame, _ = anomalous
    plain = ProphetDetector(use_temperature=False).fit(frame)
    assert not plain.uses_temperature_ and not plain.model_.extra_regressors
    with pytest.raises(ValueError, match="temperature"):
        fitted.score(frame[["value"]])
    assert np.isfinite(plain.score(frame[["value"]])).all()


def test_save_load_round_trip_gives_identical_scores(fitted, anomalous, tmp_path):
    """core.store.model_files saves the Prophet model as JSON: the reloaded detector scores identically."""
    from core.detect.detectors import REGISTRY
    from core.store.model_files import load_detector, save_detector

    frame, _ = anomalous
    back = load_detector(save_detector(fitted, tmp_path / "prophet"), REGISTRY)
    np.testing.assert_allclose(back.score(frame), fitted.score(frame), rtol=1e-9)


def test_sub_hourly_data_is_fitted_on_hourly_means_with_a_native_band():
    """15-minute readings are fitted as hourly means (4x fewer rows) but predicted and banded at
    15 minutes: about interval_width of the readings fall inside the band."""
    frame = synthetic_frame(n_days=21, freq="15min")
    det = ProphetDetector().fit(frame)
    assert det.hourly_fit_ and len(det.model_.history) == len(frame) // 4
    exp = det.expected(frame)
    inside = (frame["value"] >= exp["lower"]) & (frame["value"] <= exp["upper"])
    assert 0.9 <= inside.mean() <= 0.99
    assert det.half_width_ > det.model_half_width_  # 15-minute noise exceeds hourly-mean noise
