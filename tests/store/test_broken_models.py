"""fit_detector over broken model folders: one warning, a refit, and a refused folder never loads again."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from core.detect.detectors import REGISTRY, Detector
from core.detect.pipeline import DetectorSettings, fit_detector, model_dir
from core.store.model_cache import QUARANTINE_DIR, cache_entries
from core.store.model_files import BrokenModelError, load_detector
from tests.conftest import synthetic_frame
from tests.store.payloads import PAYLOADS

DIGEST = "fedcba9876543210" * 4


class ChildDetector(Detector):
    """Scores |value - mean|; saved as a sub-folder of its parent."""

    name = "test_broken_child"
    title = "Child"

    def __init__(self, shift: float = 0.0):
        self.shift = shift

    def _fit(self, frame, progress=None):
        self.mean_ = float(frame["value"].mean())

    def _score(self, frame):
        return np.abs(frame["value"].to_numpy() - self.mean_ - self.shift)


class FilesDetector(Detector):
    """Holds one attribute per kind of file (parquet, npz, skops, sub-folder); counts its fits."""

    name = "test_broken_files"
    title = "Files"
    fits = 0

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def _fit(self, frame, progress=None):
        type(self).fits += 1
        v = frame["value"]
        self.hourly_ = v.groupby(v.index.hour).median()
        self.weights_ = np.linspace(0.0, 1.0, 4)
        self.scaler_ = make_pipeline(StandardScaler()).fit(frame[["value"]].to_numpy())
        self.child_ = ChildDetector().fit(frame)

    def _score(self, frame):
        z = self.scaler_.transform(frame[["value"]].to_numpy())[:, 0]
        return np.abs(z) / self.scale + 0 * self.child_.score(frame).to_numpy()


@pytest.fixture
def registered(monkeypatch):
    for cls in (ChildDetector, FilesDetector):
        monkeypatch.setitem(REGISTRY, cls.name, cls)
    FilesDetector.fits = 0


@pytest.fixture(scope="module")
def frame():
    return synthetic_frame(n_days=14)


SETTINGS = DetectorSettings.of(FilesDetector.name)


def _truncate(file):
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


def _spec(folder, edit):
    spec = json.loads((folder / "detector.json").read_text())
    edit(spec)
    (folder / "detector.json").write_text(json.dumps(spec))


# name -> (break the folder, is it set aside as broken?); a meta.json that reads as no meta is a
# model "for other data": the refit replaces it in place
BREAKAGES = {
    "skops file is not a zip (BadZipFile)": (
        lambda f: (f / "scaler_.skops").write_bytes(b"garbage"),
        True,
    ),
    "skops file truncated": (lambda f: _truncate(f / "scaler_.skops"), True),
    "npz truncated": (lambda f: _truncate(f / "arrays.npz"), True),
    "parquet is garbage": (lambda f: (f / "hourly_.parquet").write_bytes(b"PAR1xx"), True),
    "parquet missing": (lambda f: (f / "hourly_.parquet").unlink(), True),
    "nested detector folder missing": (lambda f: shutil.rmtree(f / "child_"), True),
    "detector.json is a list": (lambda f: (f / "detector.json").write_text("[]"), True),
    "attribute spec without its file": (
        lambda f: _spec(f, lambda s: s["attributes"]["hourly_"].pop("file")),
        True,
    ),
    "parameter the class does not take": (
        lambda f: _spec(f, lambda s: s["params"].update(extra={"kind": "json", "value": 1})),
        True,
    ),
    "meta.json is a list": (lambda f: (f / "meta.json").write_text("[]"), False),
}


def _fit_recording(frame, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        det = fit_detector(frame, DIGEST, SETTINGS, **kwargs)
    return det, [w for w in caught if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_any_broken_cache_folder_warns_once_and_refits(name, registered, frame, tmp_path):
    """Whatever is broken, the next call warns once, refits and saves a model that loads silently."""
    breaks, set_aside = BREAKAGES[name]
    fit_detector(frame, DIGEST, SETTINGS, root=tmp_path, pretrained=None)
    folder = model_dir(DIGEST, SETTINGS, tmp_path)
    breaks(folder)
    det, caught = _fit_recording(frame, root=tmp_path, pretrained=None)
    assert det.is_fitted and FilesDetector.fits == 2
    assert len(caught) == 1 and str(caught[0].message).startswith("refitting: ignored")
    quarantined = [e for e in cache_entries(tmp_path) if e.state == "quarantined"]
    assert len(quarantined) == (1 if set_aside else 0)
    _, again = _fit_recording(frame, root=tmp_path, pretrained=None)
    assert again == [] and FilesDetector.fits == 2
    load_detector(folder, REGISTRY)


@pytest.mark.parametrize("payload", list(PAYLOADS))
def test_a_refused_cache_folder_is_quarantined_and_never_runs(payload, registered, frame, tmp_path):
    """A poisoned skops file: no code runs, one warning, the folder moves to quarantine, a refit."""
    cache, marker = tmp_path / "cache", tmp_path / "marker"
    fit_detector(frame, DIGEST, SETTINGS, root=cache, pretrained=None)
    folder = model_dir(DIGEST, SETTINGS, cache)
    PAYLOADS[payload](folder / "scaler_.skops", marker)
    det, caught = _fit_recording(frame, root=cache, pretrained=None)
    assert not marker.exists()
    assert len(caught) == 1 and "allow-list" in str(caught[0].message)
    assert "moved to" in str(caught[0].message) and det.is_fitted and FilesDetector.fits == 2
    (aside,) = (cache / QUARANTINE_DIR).iterdir()
    assert aside.name.startswith(f"{DIGEST[:16]}.{folder.name}.")
    with pytest.raises(BrokenModelError):  # still poisoned, but nothing looks there
        load_detector(aside, REGISTRY)
    _, again = _fit_recording(frame, root=cache, pretrained=None)
    assert again == [] and not marker.exists() and FilesDetector.fits == 2


def test_a_refused_pretrained_folder_is_left_in_place_and_the_refit_cached(
    registered, frame, tmp_path
):
    """The committed folder is never moved; the refit goes to the cache and is loaded from there."""
    pre, cache, marker = tmp_path / "pre", tmp_path / "cache", tmp_path / "marker"
    fit_detector(frame, DIGEST, SETTINGS, root=pre, pretrained=None)
    folder = model_dir(DIGEST, SETTINGS, pre)
    PAYLOADS["numpy.load(allow_pickle=True) on embedded bytes"](folder / "scaler_.skops", marker)
    det, caught = _fit_recording(frame, root=cache, pretrained=pre)
    assert det.is_fitted and FilesDetector.fits == 2 and not marker.exists()
    assert len(caught) == 1 and str(caught[0].message).startswith("refitting: ignored")
    assert folder.is_dir() and not (pre / QUARANTINE_DIR).exists()
    det, caught = _fit_recording(frame, root=cache, pretrained=pre)
    assert FilesDetector.fits == 2 and not marker.exists()
    assert len(caught) == 1 and str(caught[0].message).startswith(f"loaded {cache}")
