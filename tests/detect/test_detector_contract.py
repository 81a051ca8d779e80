"""One contract test over the whole REGISTRY: a detector without an entry in EXPECT fails here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.detect.detectors import REGISTRY, NotFittedError
from tests.conftest import INJECTED, inject_anomalies, synthetic_frame

ALL_KINDS = frozenset(INJECTED)
# name -> (fast constructor params, injected kinds it must rank above 95 % of clean points, slow?)
EXPECT: dict[str, tuple[dict, frozenset[str], bool]] = {
    "ensemble": ({}, ALL_KINDS, False),
    "isolation_forest": ({}, ALL_KINDS, False),
    "lof": ({}, frozenset({"spike", "drop_to_zero", "flat"}), False),
    "ocsvm": ({}, ALL_KINDS, False),
    "seasonal_naive": ({}, ALL_KINDS, False),
    # a rolling z-score measures surprise against the recent past: a flat run is not surprising
    "rolling_z": ({}, frozenset({"spike", "drop_to_zero"}), False),
    # fault rules, not a model of normal use: a level shift is not a meter fault
    "meter_fault": ({}, frozenset({"spike", "drop_to_zero", "flat"}), False),
    "lstm": (
        {"epochs": 2, "units": 8, "patience": 1},
        frozenset({"spike", "drop_to_zero"}),
        True,
    ),
    "prophet": ({"uncertainty_samples": 0}, frozenset({"spike", "drop_to_zero"}), True),
    # without labels the learned detector is the ensemble (tests/labels covers it with labels)
    "learned": ({}, ALL_KINDS, False),
}
NAMES = [
    pytest.param(n, marks=pytest.mark.slow) if n in EXPECT and EXPECT[n][2] else n
    for n in sorted(REGISTRY)
]
INJECT_AT = 24 * 28  # where conftest.inject_anomalies starts on a 42-day hourly frame


def make(name: str):
    return REGISTRY[name](**EXPECT[name][0])


@pytest.fixture(scope="module")
def anomalous() -> tuple[pd.DataFrame, pd.Series]:
    return inject_anomalies(synthetic_frame())


_FITTED: dict[str, object] = {}


def fitted(name: str, frame: pd.DataFrame):
    """Each detector fitted once on the anomalous frame, shared by the tests that only read it."""
    if name not in _FITTED:
        _FITTED[name] = make(name).fit(frame)
    return _FITTED[name]


def test_every_registered_detector_has_expectations():
    """A new detector must say here which anomalies it catches, so it cannot go untested."""
    assert set(REGISTRY) <= set(EXPECT), f"add {sorted(set(REGISTRY) - set(EXPECT))} to EXPECT"


@pytest.mark.parametrize("name", NAMES)
def test_init_only_stores_parameters(name):
    """``__init__`` stores its keyword arguments and nothing else; get_params round-trips."""
    det = make(name)
    params = det.get_params()
    assert set(vars(det)) == set(params)
    assert type(det)(**params).get_params() == params
    assert not det.is_fitted


@pytest.mark.parametrize("name", NAMES)
def test_scoring_before_fit_raises(name, anomalous):
    """Scoring an unfitted detector raises NotFittedError, never a confusing AttributeError."""
    with pytest.raises(NotFittedError):
        make(name).score(anomalous[0])


@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_self_and_sets_fitted_attributes(name, anomalous):
    """``fit`` returns the detector and adds only attributes ending in ``_`` (and the private,
    never saved memo of the last scored frame)."""
    det = make(name)
    before = set(vars(det))
    assert det.fit(anomalous[0]) is det
    added = set(vars(det)) - before - {"_last_scores"}
    assert added and all(a.endswith("_") and not a.startswith("_") for a in added)
    assert det.get_params() == make(name).get_params()


@pytest.mark.parametrize("name", NAMES)
def test_remembered_scores_equal_a_fresh_pass_and_follow_the_frame(name, anomalous):
    """The memo of the last scored frame changes nothing: the same frame scores exactly as a fresh
    pass would, a frame changed in place is scored anew, and a refit forgets the old scores."""
    frame = anomalous[0].copy()
    det = make(name).fit(frame)
    first = det.score(frame)
    fresh = np.asarray(det._score(frame), dtype=float)
    np.testing.assert_array_equal(first.to_numpy(), fresh)
    first.iloc[:] = 0.0  # a caller changing what it got back does not change the memo
    np.testing.assert_array_equal(det.score(frame).to_numpy(), fresh)

    changed = frame.copy()
    changed.iloc[len(changed) // 2, changed.columns.get_loc("value")] *= 50.0
    frame.loc[:, "value"] = changed["value"]  # the same object, new content
    np.testing.assert_array_equal(
        det.score(frame).to_numpy(), np.asarray(det._score(frame), dtype=float)
    )
    refit = det.fit(changed)
    np.testing.assert_array_equal(
        refit.score(changed).to_numpy(), np.asarray(refit._score(changed), dtype=float)
    )


@pytest.mark.parametrize("name", NAMES)
def test_score_is_aligned_and_ranks_injected_anomalies_high(name, anomalous):
    """Scores are floats on the frame's index, and each kind of anomaly the detector is meant
    for has a median score above 95 % of the clean points' scores."""
    frame, labels = anomalous
    s = fitted(name, frame).score(frame)
    assert s.index.equals(frame.index) and s.dtype == float
    clean = s[labels == 0].dropna().to_numpy()
    assert clean.size > 0.8 * (labels == 0).sum()
    for kind in EXPECT[name][1]:
        off, length = INJECTED[kind]
        seg = s.iloc[INJECT_AT + off : INJECT_AT + off + length]
        share_below = float(np.mean(clean < np.nanmedian(seg)))
        assert share_below > 0.95, f"{name} misses {kind}: above only {share_below:.1%}"


@pytest.mark.parametrize("name", NAMES)
def test_calibrated_scores_are_on_the_sigma_scale(name, anomalous):
    """On its training frame, about 1 % of calibrated scores exceed 2.33 whatever the detector."""
    frame, _ = anomalous
    z = fitted(name, frame).calibrated(frame).dropna()
    assert 0.003 <= float((z > 2.33).mean()) <= 0.03


@pytest.mark.parametrize("name", NAMES)
def test_same_settings_give_the_same_scores(name, anomalous):
    """Fitting twice with the same parameters (and seed) gives identical scores."""
    frame, _ = anomalous
    a = make(name).fit(frame).score(frame)
    pd.testing.assert_series_equal(a, fitted(name, frame).score(frame))


@pytest.mark.parametrize("name", NAMES)
def test_missing_readings_score_nan_or_finite_without_error(name, anomalous):
    """Missing readings (in training and scoring) raise nothing and never make other rows NaN
    beyond a warm-up."""
    frame, _ = anomalous
    holed = frame.copy()
    rng = np.random.default_rng(1)
    holed.iloc[rng.choice(len(frame), 40, replace=False), 0] = np.nan
    holed.iloc[300:310, 0] = np.nan
    s = make(name).fit(holed).score(holed)
    present = holed["value"].notna()
    assert np.isfinite(s[present].iloc[len(s) // 2 :]).mean() > 0.9
    assert not np.isinf(s).any()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("freq", "days"), [("15min", 14), ("30min", 21), ("1D", 120)])
def test_works_on_other_steps(name, freq, days):
    """15-minute, 30-minute and daily meters fit and score: lags come from the frame's step."""
    frame = synthetic_frame(n_days=days, freq=freq)
    s = make(name).fit(frame).score(frame)
    assert len(s) == len(frame)
    assert np.isfinite(s.iloc[len(s) // 2 :]).mean() > 0.9


@pytest.mark.parametrize("name", NAMES)
def test_too_few_readings_is_a_clear_error(name):
    """Fewer readings than ``min_points`` gives a ValueError naming the minimum."""
    frame = synthetic_frame(n_days=1)
    det = make(name)
    frame.iloc[: len(frame) - det.min_points + 1, 0] = np.nan
    with pytest.raises(ValueError, match=str(det.min_points)):
        det.fit(frame)


@pytest.mark.parametrize("name", NAMES)
def test_forecasting_detectors_give_expected_with_a_band(name, anomalous):
    """Forecasting detectors return expected/lower/upper on the index with lower <= upper;
    the others refuse with a TypeError."""
    frame, _ = anomalous
    det = fitted(name, frame)
    if not det.forecasting:
        with pytest.raises(TypeError):
            det.expected(frame)
        return
    exp = det.expected(frame)
    assert list(exp.columns[:3]) == ["expected", "lower", "upper"]
    assert exp.index.equals(frame.index)
    both = exp.dropna()
    assert len(both) > len(frame) // 2
    assert (both["lower"] <= both["upper"]).all()


@pytest.mark.parametrize("name", NAMES)
def test_saved_and_loaded_detector_scores_the_same(name, anomalous, tmp_path):
    """Every fitted attribute is of a kind ``core.store.model_files`` saves: a round trip changes no score."""
    from core.store.model_files import load_detector, save_detector

    frame, _ = anomalous
    det = fitted(name, frame)
    save_detector(det, tmp_path / name)
    back = load_detector(tmp_path / name, REGISTRY)
    pd.testing.assert_series_equal(back.calibrated(frame), det.calibrated(frame))
