"""Pipeline: settings key models, fit_detector reuses saved models, score_frame has the pinned layout."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import core.detect.pipeline as pipeline
from core.detect.detectors import REGISTRY, Detector
from core.detect.pipeline import DetectorSettings, fit_detector, model_dir
from core.detect.profile import weekly_profile
from core.detect.scoring import SCORED_COLUMNS, score_frame
from core.store.model_files import read_meta
from tests.conftest import REPO, inject_anomalies, synthetic_frame

DIGEST = "0123456789abcdef" * 4


class CountingDetector(Detector):
    """Scores |value - mean| / std; counts how many times it was fitted."""

    name = "test_pipeline_counting"
    title = "Counting"
    fits = 0

    def __init__(self, shift: float = 0.0):
        self.shift = shift

    def _fit(self, frame, progress=None):
        type(self).fits += 1
        self.mean_ = float(frame["value"].mean())
        self.std_ = float(frame["value"].std())
        if progress:
            progress(1.0, "done")

    def _score(self, frame):
        return np.abs(frame["value"].to_numpy() - self.mean_ - self.shift) / self.std_


class ForecastingDetector(CountingDetector):
    """Expects the previous day's reading: undefined for the first day (a warm-up)."""

    name = "test_pipeline_forecasting"
    forecasting = True

    def _expected(self, frame):
        exp = frame["value"].shift(24)
        return pd.DataFrame({"expected": exp, "lower": exp - 5, "upper": exp + 5})


@pytest.fixture
def registered(monkeypatch):
    for cls in (CountingDetector, ForecastingDetector):
        monkeypatch.setitem(REGISTRY, cls.name, cls)
    CountingDetector.fits = 0


@pytest.fixture(scope="module")
def frame():
    out, labels = inject_anomalies(synthetic_frame(n_days=21))
    out["label"] = labels.astype(float)
    return out


def test_settings_are_frozen_sorted_and_hashable():
    """Params become a sorted tuple; lists and dicts are frozen so settings can key a cache."""
    a = DetectorSettings.of(
        "ensemble", members=["lof", "rolling_z"], member_params={"lof": {"k": 5}}
    )
    b = DetectorSettings(
        "ensemble", (("member_params", {"lof": {"k": 5}}), ("members", ("lof", "rolling_z")))
    )
    assert a == b and hash(a) == hash(b)
    assert [k for k, _ in a.params] == ["member_params", "members"]
    assert a.kwargs() == {"member_params": {"lof": {"k": 5}}, "members": ("lof", "rolling_z")}
    assert type(a.kwargs()["member_params"]) is dict
    with pytest.raises(TypeError):
        a.params[0][1]["lof"] = {}
    assert DetectorSettings().detector == "ensemble"


def test_key_changes_with_params_and_library_versions(monkeypatch):
    """Different params or a different library version give a different model folder."""
    base = DetectorSettings.of("lof", n_neighbors=20)
    assert base.key() == DetectorSettings.of("lof", n_neighbors=20).key()
    assert base.key() != DetectorSettings.of("lof", n_neighbors=21).key()
    assert len(base.key()) == 16
    monkeypatch.setattr(pipeline, "library_versions", lambda: {"numpy": "0.0"})
    changed = DetectorSettings.of("lof", n_neighbors=20).key()
    monkeypatch.undo()
    assert changed != base.key()


def test_key_changes_with_the_detector_code(monkeypatch):
    """Editing a detector's code retrains: a model saved by older code is never loaded."""
    base = DetectorSettings.of("lof").key()
    monkeypatch.setattr(pipeline, "code_version", lambda: "000000000000")
    assert DetectorSettings.of("lof").key() != base


def test_fit_then_load_from_disk(registered, frame, tmp_path):
    """The second call loads the saved model (no refit) and scores identically."""
    s = DetectorSettings.of(CountingDetector.name, shift=1.0)
    first = fit_detector(frame, DIGEST, s, root=tmp_path, pretrained=None)
    seen = []
    second = fit_detector(
        frame, DIGEST, s, root=tmp_path, pretrained=None, progress=lambda f, m: seen.append(m)
    )
    assert CountingDetector.fits == 1 and second is not first
    assert seen == ["Loaded the saved model"]
    folder = tmp_path / DIGEST[:16] / f"{CountingDetector.name}-{s.key()}"
    assert folder == model_dir(DIGEST, s, tmp_path) and folder.is_dir()
    meta = read_meta(folder)
    assert meta["digest"] == DIGEST and meta["params"] == {"shift": 1.0}
    assert meta["fit_seconds"] >= 0 and meta["warnings"] == []
    assert set(meta["versions"]) >= {
        "numpy",
        "pandas",
        "scikit-learn",
        "tensorflow",
        "keras",
        "prophet",
    }
    pd.testing.assert_frame_equal(score_frame(first, frame), score_frame(second, frame))


def test_other_data_or_params_fit_again(registered, frame, tmp_path):
    """A different digest or different params never reuse a model."""
    s = DetectorSettings.of(CountingDetector.name)
    fit_detector(frame, DIGEST, s, root=tmp_path, pretrained=None)
    fit_detector(frame, "f" * 64, s, root=tmp_path, pretrained=None)
    fit_detector(
        frame,
        DIGEST,
        DetectorSettings.of(CountingDetector.name, shift=2.0),
        root=tmp_path,
        pretrained=None,
    )
    assert CountingDetector.fits == 3


def test_pretrained_models_are_used_first_and_not_written(registered, frame, tmp_path):
    """A model in the pretrained folder is loaded; nothing is written to the cache."""
    s = DetectorSettings.of(CountingDetector.name)
    pre, cache = tmp_path / "pretrained", tmp_path / "cache"
    fit_detector(frame, DIGEST, s, root=pre, pretrained=None)
    fit_detector(frame, DIGEST, s, root=cache, pretrained=pre)
    assert CountingDetector.fits == 1
    assert not cache.exists()


def test_corrupted_or_mismatched_folders_are_refitted_with_a_warning(registered, frame, tmp_path):
    """A broken model folder is ignored (warning), refitted, and the new meta says why."""
    s = DetectorSettings.of(CountingDetector.name)
    folder = model_dir(DIGEST, s, tmp_path)
    fit_detector(frame, DIGEST, s, root=tmp_path, pretrained=None)
    (folder / "detector.json").write_text("{not json")
    with pytest.warns(RuntimeWarning, match="refitting"):
        fit_detector(frame, DIGEST, s, root=tmp_path, pretrained=None)
    assert CountingDetector.fits == 2
    assert "no readable detector.json" in read_meta(folder)["warnings"][0]
    meta = read_meta(folder)
    (folder / "meta.json").write_text(json.dumps({**meta, "digest": "other"}))
    with pytest.warns(RuntimeWarning, match="does not match on digest"):
        det = fit_detector(frame, DIGEST, s, root=tmp_path, pretrained=None)
    assert CountingDetector.fits == 3 and det.is_fitted


def test_unwritable_cache_still_returns_a_fitted_detector(registered, frame, tmp_path, monkeypatch):
    """When the model cannot be saved the fit is still returned (with a warning), not an error."""

    def refuse(*args, **kwargs):
        raise OSError("read-only file system")

    monkeypatch.setattr(pipeline, "save_detector", refuse)
    with pytest.warns(RuntimeWarning, match="not saved"):
        det = fit_detector(
            frame,
            DIGEST,
            DetectorSettings.of(CountingDetector.name),
            root=tmp_path,
            pretrained=None,
        )
    assert det.is_fitted


def test_models_dir_follows_the_environment(tmp_path, monkeypatch):
    """WATTSUP_MODELS_DIR moves the run-time cache; the default is models/cache in the repo."""
    monkeypatch.setenv("WATTSUP_MODELS_DIR", str(tmp_path))
    assert pipeline.default_models_dir() == tmp_path
    monkeypatch.delenv("WATTSUP_MODELS_DIR")
    assert pipeline.default_models_dir() == REPO / "models" / "cache"


def test_scored_frame_layout_for_a_non_forecasting_detector(registered, frame):
    """Pinned columns, calibrated score, profile expectation, deviation, label and covariates kept."""
    det = CountingDetector().fit(frame)
    scored = score_frame(det, frame)
    assert list(scored.columns[: len(SCORED_COLUMNS)]) == list(SCORED_COLUMNS)
    assert {"label", "temperature"} <= set(scored.columns)
    assert scored.index.equals(frame.index)
    pd.testing.assert_series_equal(scored["score"], det.calibrated(frame), check_names=False)
    pd.testing.assert_series_equal(scored["raw_score"], det.score(frame), check_names=False)
    np.testing.assert_allclose(scored["deviation"], scored["value"] - scored["expected"])
    assert (scored["lower"] <= scored["expected"]).all() and (
        scored["expected"] <= scored["upper"]
    ).all()
    pd.testing.assert_frame_equal(
        scored[["expected", "lower", "upper"]], weekly_profile(frame["value"]), check_names=False
    )


def test_forecasting_detectors_give_their_own_expectation(registered, frame):
    """A forecasting detector's expected band is used; its warm-up is filled from the profile."""
    det = ForecastingDetector().fit(frame)
    scored = score_frame(det, frame)
    np.testing.assert_allclose(scored["expected"].iloc[24:], frame["value"].shift(24).iloc[24:])
    profile = weekly_profile(frame["value"])
    np.testing.assert_allclose(scored["expected"].iloc[:24], profile["expected"].iloc[:24])
    assert scored["expected"].notna().all()


def test_weekly_profile_is_robust_to_anomalies():
    """The same-hour-of-week median ignores a spike and a drop; the band covers normal readings."""
    clean = synthetic_frame(n_days=42)["value"]
    dirty, _ = inject_anomalies(synthetic_frame(n_days=42))
    prof = weekly_profile(dirty["value"])
    slot = clean.index.dayofweek * 24 + clean.index.hour
    truth = clean.groupby(slot).transform("median")
    assert np.abs(prof["expected"] - truth).max() < 5.0
    inside = (clean >= prof["lower"]) & (clean <= prof["upper"])
    assert inside.mean() > 0.95  # six readings per slot: the MAD itself is noisy


def test_weekly_profile_fills_slots_without_readings():
    """A time of week with no reading falls back to the same time of day."""
    idx = pd.date_range("2024-01-01", periods=24 * 7, freq="1h")
    value = pd.Series(np.tile(np.arange(24.0), 7), index=idx)
    value.iloc[30] = np.nan
    prof = weekly_profile(value)
    assert prof["expected"].iloc[30] == 6.0
    assert prof["expected"].notna().all()


@pytest.mark.parametrize("name", [n for n in REGISTRY if n not in ("lstm", "prophet")])
def test_real_detectors_through_the_pipeline(name, frame, tmp_path):
    """Every fast registered detector fits, saves, loads and scores into the pinned layout."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        s = DetectorSettings.of(name)
        det = fit_detector(frame, DIGEST, s, root=tmp_path, pretrained=None)
        again = fit_detector(frame, DIGEST, s, root=tmp_path, pretrained=None)
    a, b = score_frame(det, frame), score_frame(again, frame)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns[:7]) == list(SCORED_COLUMNS)
    assert a["expected"].notna().mean() > 0.95


def test_saved_meta_prefers_the_pretrained_model(registered, frame, tmp_path):
    """saved_meta reads the meta of the model fit_detector would load, pretrained first."""
    s = DetectorSettings.of(CountingDetector.name)
    pre, cache = tmp_path / "pre", tmp_path / "cache"
    assert pipeline.saved_meta(DIGEST, s, root=cache, pretrained=pre) == {}
    fit_detector(frame, DIGEST, s, root=cache, pretrained=None)
    assert pipeline.saved_meta(DIGEST, s, root=cache, pretrained=pre)["digest"] == DIGEST
    fit_detector(frame, DIGEST, s, root=pre, pretrained=None)
    meta = pipeline.saved_meta(DIGEST, s, root=cache, pretrained=pre)
    assert meta == read_meta(model_dir(DIGEST, s, pre))
