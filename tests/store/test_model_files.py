"""Store: every fitted attribute type survives save -> load, scores are identical, nothing is pickled."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from core.detect.detectors import REGISTRY, Detector
from core.store.model_files import (
    BrokenModelError,
    StoreError,
    fitted_attributes,
    load_detector,
    read_meta,
    save_detector,
)
from tests.conftest import inject_anomalies, synthetic_frame


class TinyDetector(Detector):
    """Scores |value - hourly median| / scale; stores one attribute of every supported type."""

    name = "test_store_tiny"
    title = "Tiny"

    def __init__(
        self, scale: float = 1.0, hours: tuple[int, ...] = (0, 12), opts: dict | None = None
    ):
        self.scale = scale
        self.hours = hours
        self.opts = opts

    def _fit(self, frame, progress=None):
        v = frame["value"]
        self.hourly_ = v.groupby(v.index.hour).median()  # pandas Series
        self.array_ = np.arange(6, dtype=np.float32).reshape(2, 3)
        self.count_ = np.int64(len(frame))
        self.nan_ = float("nan")
        self.flags_ = [True, False, None, "text", 3, 2.5]
        self.nested_ = {"a": (1, 2), "b": {"c": np.float32(0.5)}, "d": [np.zeros(2)]}
        self.stamp_ = pd.Timestamp("2024-01-01 03:00")
        self.step_ = pd.Timedelta("1h")
        # fitted on an array, as the project's detectors are: a frame would add feature_names_in_,
        # an object array, which the skops allow-list refuses
        self.scaler_ = make_pipeline(StandardScaler()).fit(frame[["value"]].fillna(0).to_numpy())

    def _score(self, frame):
        med = self.hourly_.reindex(frame.index.hour).to_numpy()
        z = np.asarray(self.scaler_.transform(frame[["value"]].fillna(0).to_numpy()))[:, 0]
        return np.abs(frame["value"].to_numpy() - med) / self.scale + 0 * z


class TinyParent(Detector):
    """Holds fitted children alone, in a dict and in a list (like the ensemble's ``members_``)."""

    name = "test_store_parent"
    title = "Parent"

    def __init__(self, scales: tuple[float, ...] = (1.0, 2.0)):
        self.scales = scales

    def _fit(self, frame, progress=None):
        self.members_ = {str(s): TinyDetector(scale=s).fit(frame) for s in self.scales}
        self.first_ = TinyDetector(scale=3.0).fit(frame)
        self.chain_ = [TinyDetector(scale=4.0).fit(frame)]

    def _score(self, frame):
        return sum(m.score(frame).to_numpy() for m in self.members_.values())


def _custom(x):  # not on the skops allow-list
    return x


class UnsafeDetector(TinyDetector):
    name = "test_store_unsafe"

    def _fit(self, frame, progress=None):
        super()._fit(frame, progress)
        self.scaler_ = FunctionTransformer(_custom).fit(frame[["value"]])


@pytest.fixture
def registered(monkeypatch):
    for cls in (TinyDetector, TinyParent, UnsafeDetector):
        monkeypatch.setitem(REGISTRY, cls.name, cls)


@pytest.fixture(scope="module")
def frame():
    return inject_anomalies(synthetic_frame(n_days=21))[0]


def assert_same(a, b):
    if isinstance(a, Detector):
        assert type(a) is type(b) and a.get_params() == b.get_params()
        for k, v in fitted_attributes(a).items():
            assert_same(v, getattr(b, k))
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    elif hasattr(a, "get_params") and not isinstance(a, Detector):
        assert type(a) is type(b)
    else:
        assert type(a) is type(b) and a == b


def test_round_trip_keeps_every_attribute_and_score(registered, frame, tmp_path):
    """Series, arrays, numpy scalars, NaN, nested containers, timestamps, sklearn: all come back."""
    det = TinyDetector(scale=2.0, hours=(1, 2), opts={"x": [1, 2]}).fit(frame)
    save_detector(det, tmp_path / "m", {"digest": "abc"})
    back = load_detector(tmp_path / "m", REGISTRY)
    assert_same(det, back)
    assert back.hours == (1, 2) and back.opts == {"x": [1, 2]}
    pd.testing.assert_series_equal(det.score(frame), back.score(frame))
    pd.testing.assert_series_equal(det.calibrated(frame), back.calibrated(frame))


def test_files_by_type_and_no_pickle(registered, frame, tmp_path):
    """Heavy attributes get their own files by type; no file is a pickle."""
    save_detector(TinyDetector().fit(frame), tmp_path / "m", {})
    names = {p.name for p in (tmp_path / "m").iterdir()}
    assert {"detector.json", "meta.json", "arrays.npz", "hourly_.parquet", "scaler_.skops"} <= names
    assert not [n for n in names if n.endswith((".pkl", ".pickle", ".joblib"))]
    with np.load(tmp_path / "m" / "arrays.npz", allow_pickle=False) as data:
        assert "array_" in data.files


def test_nested_detectors_go_to_subfolders(registered, frame, tmp_path):
    """Detectors inside a detector (alone, in a dict, in a list) are saved as sub-folders."""
    det = TinyParent().fit(frame)
    save_detector(det, tmp_path / "m", {})
    assert (tmp_path / "m" / "members_.1.0" / "detector.json").exists()
    assert (tmp_path / "m" / "first_" / "detector.json").exists()
    back = load_detector(tmp_path / "m", REGISTRY)
    assert_same(det, back)
    pd.testing.assert_series_equal(det.score(frame), back.score(frame))


def test_meta_records_where_the_model_came_from(registered, frame, tmp_path):
    """meta.json holds detector, params, library versions, training period and the caller's keys."""
    save_detector(
        TinyDetector(scale=2.0).fit(frame), tmp_path / "m", {"digest": "d", "fit_seconds": 1.5}
    )
    meta = read_meta(tmp_path / "m")
    assert meta["detector"] == "test_store_tiny" and meta["digest"] == "d"
    assert meta["init_params"]["scale"] == 2.0 and meta["fit_seconds"] == 1.5
    assert meta["versions"]["numpy"] == np.__version__
    assert meta["train_start"] == str(frame.index[0]) and meta["train_end"] == str(frame.index[-1])


def test_skops_types_outside_the_allow_list_are_refused(registered, frame, tmp_path):
    """A scikit-learn object that needs a type off the exact allow-list is never loaded."""
    save_detector(UnsafeDetector().fit(frame), tmp_path / "m", {})
    with pytest.raises(BrokenModelError, match="allow-list"):
        load_detector(tmp_path / "m", REGISTRY)


@pytest.mark.parametrize(
    ("file", "data"),
    [
        ("scaler_.skops", b"not a zip"),
        ("arrays.npz", b"PK\x03\x04"),
        ("hourly_.parquet", b"PAR1"),
        ("detector.json", b'{"format": 1, "detector": "test_store_tiny"}'),
    ],
)
def test_every_read_failure_is_a_broken_model_error(registered, frame, tmp_path, file, data):
    """A corrupt file raises BrokenModelError naming the folder, never BadZipFile or KeyError."""
    save_detector(TinyDetector().fit(frame), tmp_path / "m", {})
    (tmp_path / "m" / file).write_bytes(data)
    with pytest.raises(BrokenModelError, match=str(tmp_path / "m")):
        load_detector(tmp_path / "m", REGISTRY)


def test_unknown_detector_and_escaping_paths_are_refused(registered, frame, tmp_path):
    """The class comes only from REGISTRY; file names cannot point outside the folder."""
    save_detector(TinyDetector().fit(frame), tmp_path / "m", {})
    spec_file = tmp_path / "m" / "detector.json"
    spec = json.loads(spec_file.read_text())
    spec_file.write_text(json.dumps({**spec, "detector": "os.system"}))
    with pytest.raises(StoreError, match="unknown detector"):
        load_detector(tmp_path / "m", REGISTRY)
    spec["attributes"]["hourly_"]["file"] = "../../etc/passwd"
    spec_file.write_text(json.dumps(spec))
    with pytest.raises(StoreError, match="outside"):
        load_detector(tmp_path / "m", REGISTRY)
    with pytest.raises(StoreError, match="no readable"):
        load_detector(tmp_path / "missing", REGISTRY)


def test_a_failed_save_leaves_no_half_model(registered, frame, tmp_path):
    """Saving an unsupported attribute fails before anything appears; an older model stays intact."""
    det = TinyDetector().fit(frame)
    save_detector(det, tmp_path / "m", {"digest": "old"})
    bad = TinyDetector().fit(frame)
    bad.weird_ = object()
    with pytest.raises(StoreError, match="weird_"):
        save_detector(bad, tmp_path / "m", {"digest": "new"})
    with pytest.raises(StoreError):
        save_detector(bad, tmp_path / "other", {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    assert read_meta(tmp_path / "m")["digest"] == "old"
    load_detector(tmp_path / "m", REGISTRY)


def test_object_arrays_and_unfitted_detectors_are_refused(registered, frame, tmp_path):
    """Object arrays would need pickle; an unfitted detector has nothing to save."""
    with pytest.raises(StoreError, match="not fitted"):
        save_detector(TinyDetector(), tmp_path / "m", {})
    det = TinyDetector().fit(frame)
    det.objects_ = np.array([{"a": 1}], dtype=object)
    with pytest.raises(StoreError, match="pickle"):
        save_detector(det, tmp_path / "m", {})


FAST = [n for n in REGISTRY if n not in ("lstm", "prophet")]
TINY = {
    "lstm": {"units": 4, "epochs": 1, "window": 24, "batch_size": 128, "patience": 1},
    "prophet": {},
}


def _round_trip(name, params, frame, tmp_path):
    det = REGISTRY[name](**params).fit(frame)
    save_detector(det, tmp_path / name, {})
    back = load_detector(tmp_path / name, REGISTRY)
    assert type(back) is type(det) and back.get_params() == det.get_params()
    pd.testing.assert_series_equal(det.score(frame), back.score(frame))
    pd.testing.assert_series_equal(det.calibrated(frame), back.calibrated(frame))
    if det.forecasting:
        pd.testing.assert_frame_equal(det.expected(frame), back.expected(frame))


@pytest.mark.parametrize("name", FAST)
def test_every_fast_registered_detector_round_trips(name, frame, tmp_path):
    """Each registered detector scores identically after save -> load."""
    _round_trip(name, {}, frame, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in ("lstm", "prophet") if n in REGISTRY])
def test_slow_detectors_round_trip(name, frame, tmp_path):
    """LSTM (.keras) and Prophet (JSON) models score identically after save -> load."""
    _round_trip(name, TINY[name], frame, tmp_path)
