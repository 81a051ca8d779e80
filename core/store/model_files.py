"""Fitted detectors on disk: saved by the type of each fitted attribute, never pickled.

A model folder holds

* ``detector.json``: registry name, ``__init__`` parameters and one entry per fitted attribute (a
  name ending in ``_``) saying how and where it is stored;
* ``meta.json``: what data it learned from and how (digest, detector, params, library versions,
  training period, fit seconds, optional metrics and warnings);
* one file per heavy attribute, by type: Keras model -> ``<attr>.keras``; Prophet -> ``<attr>.json``
  (``prophet.serialize``); scikit-learn estimator or pipeline -> ``<attr>.skops``; numpy arrays ->
  ``arrays.npz``; pandas Series / DataFrame -> ``<attr>.parquet``; nested detectors (alone, in a dict or
  in a list) -> sub-folders. Plain JSON values go into ``detector.json`` itself ("state").

Loading looks the class up in ``REGISTRY`` by name (never by an import path read from a file), rebuilds
it through ``__init__`` and sets the attributes back. skops files are loaded only when every node of
their tree is one of the exact (loader, type) pairs the project's own estimators need
(``core.store.skops_trust``); Keras files only in safe mode. Whatever goes wrong reading a folder
that exists (refused, corrupt, truncated, missing files) raises ``BrokenModelError``: the caller
sets the folder aside and refits. Saving writes into a temporary sibling folder and renames it, so a
crash never leaves half a model.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from core.store.skops_trust import RefusedFile, load_allowed
from core.store.versions import library_versions

FORMAT = 1
DETECTOR_FILE = "detector.json"
META_FILE = "meta.json"
ARRAYS_FILE = "arrays.npz"


class StoreError(RuntimeError):
    """A model folder that cannot be saved or loaded safely; the message says which attribute."""


class BrokenModelError(StoreError):
    """A model folder that exists but must not be loaded: refused by the trust checks, or corrupt."""


@runtime_checkable
class Savable(Protocol):
    """What the store needs of a detector (``core.detect.detectors.base.Detector`` fits it).

    The store sits below the detect wing, so it names the shape instead of importing the class;
    ``load_detector`` is handed the registry that maps a saved name to a class.
    """

    name: str

    @property
    def is_fitted(self) -> bool: ...

    def get_params(self) -> dict[str, Any]: ...


Registry = Mapping[str, Callable[..., Savable]]


# ---- public API ---------------------------------------------------------------------------------
def save_detector(det: Savable, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Save a fitted ``det`` into the folder ``path`` (replacing it) and return the folder.

    ``meta`` is merged over what the store knows itself (detector, params, versions, period).
    """
    if not det.is_fitted:
        raise StoreError(f"{type(det).__name__} is not fitted; nothing to save")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        _write(det, tmp)
        info = {
            "format": FORMAT,
            "detector": det.name,
            "init_params": _plain(det.get_params()),
            "versions": library_versions(),
            "train_start": getattr(det, "train_start_", None),
            "train_end": getattr(det, "train_end_", None),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **(meta or {}),
        }
        _dump_json(tmp / META_FILE, info)
        _replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def load_detector(path: str | Path, registry: Registry) -> Savable:
    """Rebuild the detector saved in ``path`` (its class looked up by name in ``registry``).

    Raises ``BrokenModelError`` for any folder that is missing, unsafe or unreadable: the files are
    untrusted input, so every way their parsing can fail (``BadZipFile``, a truncated parquet, a
    Keras refusal, a wrong type in a spec) means the same thing to the caller.
    """
    path = Path(path)
    try:
        return _load(path, registry)
    except BrokenModelError:
        raise
    except Exception as err:  # the docstring says why every failure is caught here
        raise BrokenModelError(f"{path} cannot be loaded ({type(err).__name__}: {err})") from err


def _load(path: Path, registry: Registry) -> Savable:
    try:
        spec = json.loads((path / DETECTOR_FILE).read_text())
    except (OSError, ValueError) as err:
        raise BrokenModelError(f"no readable {DETECTOR_FILE} in {path}: {err}") from err
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        found = spec.get("format") if isinstance(spec, dict) else None
        raise BrokenModelError(f"{path} was saved in format {found}, expected {FORMAT}")
    cls = registry.get(spec.get("detector", ""))
    if cls is None:
        raise BrokenModelError(f"{path} holds unknown detector {spec.get('detector')!r}")
    arrays = _arrays(path)
    params = {k: _decode(v, path, arrays, k, registry) for k, v in spec["params"].items()}
    det = cls(**params)
    for name, item in spec["attributes"].items():
        if not name.endswith("_") or name.startswith("_"):
            raise BrokenModelError(f"{path}: {name!r} is not a fitted attribute name")
        setattr(det, name, _decode(item, path, arrays, name, registry))
    return det


def read_meta(path: str | Path) -> dict[str, Any]:
    """``meta.json`` of a model folder (empty dict when missing, unreadable or not an object)."""
    try:
        meta = json.loads((Path(path) / META_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def fitted_attributes(det: Savable) -> dict[str, Any]:
    """Public attributes ending in ``_``: what ``fit`` learned."""
    return {k: v for k, v in vars(det).items() if k.endswith("_") and not k.startswith("_")}


# ---- writing ------------------------------------------------------------------------------------
def _write(det: Savable, folder: Path) -> None:
    folder.mkdir(parents=True)
    arrays: dict[str, np.ndarray] = {}
    params = {k: _encode(v, folder, arrays, f"param.{k}") for k, v in det.get_params().items()}
    attrs = {k: _encode(v, folder, arrays, k) for k, v in fitted_attributes(det).items()}
    if arrays:
        np.savez(folder / ARRAYS_FILE, **arrays)
    _dump_json(
        folder / DETECTOR_FILE,
        {"format": FORMAT, "detector": det.name, "params": params, "attributes": attrs},
    )


def _encode(value: Any, folder: Path, arrays: dict[str, np.ndarray], key: str) -> dict[str, Any]:
    """A JSON spec for ``value``; heavy values are written beside it and referenced by file name."""
    if value is None or isinstance(value, bool | str):
        return {"kind": "json", "value": value}
    if isinstance(value, int | float) and not isinstance(value, np.generic):
        if isinstance(value, float) and not math.isfinite(value):
            return {"kind": "float", "value": repr(value)}  # nan / inf, kept valid JSON
        return {"kind": "json", "value": value}
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biuf":
            raise StoreError(f"cannot save {key}: numpy scalar of dtype {value.dtype}")
        item = value.item()
        item = repr(item) if isinstance(item, float) and not math.isfinite(item) else item
        return {"kind": "scalar", "dtype": value.dtype.str, "value": item}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise StoreError(f"cannot save {key}: object arrays would need pickle")
        arrays[key] = value
        return {"kind": "array", "key": key}
    if isinstance(value, pd.Series | pd.DataFrame):
        return _encode_pandas(value, folder, key)
    if isinstance(value, pd.Timestamp):
        return {"kind": "timestamp", "value": value.isoformat()}
    if isinstance(value, pd.Timedelta):
        return {"kind": "timedelta", "value": int(value.value)}
    if _is_detector(value):
        save_detector(value, folder / key, {})
        return {"kind": "detector", "dir": key}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise StoreError(f"cannot save {key}: dict keys must be strings")
        items = {k: _encode(v, folder, arrays, f"{key}.{k}") for k, v in value.items()}
        return {"kind": "dict", "items": items}
    if isinstance(value, list | tuple):
        kind = "tuple" if isinstance(value, tuple) else "list"
        if all(_is_plain(v) for v in value):  # the common case (losses, bands): one JSON list
            return {"kind": kind, "value": list(value)}
        items = [_encode(v, folder, arrays, f"{key}.{i}") for i, v in enumerate(value)]
        return {"kind": kind, "items": items}
    lib = _library_of(value)
    if lib == "keras":
        value.save(folder / f"{key}.keras")
        return {"kind": "keras", "file": f"{key}.keras"}
    if lib == "prophet":
        from prophet.serialize import model_to_json

        (folder / f"{key}.json").write_text(model_to_json(value))
        return {"kind": "prophet", "file": f"{key}.json"}
    if lib == "sklearn":
        import skops.io

        # deflate: tree arrays compress about 4x, which keeps committed pretrained models small
        skops.io.dump(value, folder / f"{key}.skops", compression=zipfile.ZIP_DEFLATED)
        return {"kind": "sklearn", "file": f"{key}.skops"}
    raise StoreError(f"cannot save {key}: no safe format for {type(value).__qualname__}")


def _encode_pandas(value: pd.Series | pd.DataFrame, folder: Path, key: str) -> dict[str, Any]:
    is_series = isinstance(value, pd.Series)
    frame = value.to_frame(name="__value__") if is_series else value
    if any(not isinstance(c, str) for c in frame.columns):
        raise StoreError(f"cannot save {key}: parquet needs string column names")
    frame.to_parquet(folder / f"{key}.parquet")
    spec = {"kind": "series" if is_series else "frame", "file": f"{key}.parquet"}
    if is_series:
        spec["name"] = _encode(value.name, folder, {}, f"{key}.name")
    return spec


def _is_detector(value: Any) -> bool:
    """A nested detector (saved as a sub-folder), told from estimators by the detector contract."""
    return (
        isinstance(value, Savable) and hasattr(value, "min_points") and hasattr(value, "calibrated")
    )


def _library_of(value: Any) -> str | None:
    """Which library a value's class comes from, by its MRO (no heavy import just to check)."""
    for cls in type(value).__mro__:
        root = cls.__module__.split(".")[0]
        if root in ("keras", "tf_keras") and cls.__name__ == "Model":
            return "keras"
        if root == "prophet" and cls.__name__ == "Prophet":
            return "prophet"
        if root == "sklearn" and cls.__name__ == "BaseEstimator":
            return "sklearn"
    return None


# ---- reading ------------------------------------------------------------------------------------
def _arrays(path: Path) -> dict[str, np.ndarray]:
    file = path / ARRAYS_FILE
    if not file.exists():
        return {}
    with np.load(file, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _decode(
    spec: dict[str, Any], path: Path, arrays: dict[str, np.ndarray], key: str, registry: Registry
) -> Any:
    kind = spec.get("kind")
    if kind == "json":
        return spec["value"]
    if kind == "float":
        return float(spec["value"])
    if kind == "scalar":
        return np.dtype(spec["dtype"]).type(spec["value"])
    if kind == "array":
        if spec["key"] not in arrays:
            raise BrokenModelError(f"{path}: array {spec['key']!r} missing from {ARRAYS_FILE}")
        return arrays[spec["key"]]
    if kind in ("series", "frame"):
        frame = pd.read_parquet(_inside(path, spec["file"]))
        if kind == "frame":
            return frame
        return frame["__value__"].rename(_decode(spec["name"], path, arrays, key, registry))
    if kind == "timestamp":
        return pd.Timestamp(spec["value"])
    if kind == "timedelta":
        return pd.Timedelta(spec["value"])
    if kind == "detector":
        return load_detector(_inside(path, spec["dir"]), registry)
    if kind == "dict":
        return {
            k: _decode(v, path, arrays, f"{key}.{k}", registry) for k, v in spec["items"].items()
        }
    if kind in ("list", "tuple") and "value" in spec:
        return tuple(spec["value"]) if kind == "tuple" else list(spec["value"])
    if kind in ("list", "tuple"):
        items = [
            _decode(v, path, arrays, f"{key}.{i}", registry) for i, v in enumerate(spec["items"])
        ]
        return tuple(items) if kind == "tuple" else items
    if kind == "keras":
        import keras

        # safe_mode refuses Lambda layers, the one way a .keras file could carry code
        return keras.saving.load_model(_inside(path, spec["file"]), safe_mode=True)
    if kind == "prophet":
        from prophet.serialize import model_from_json

        return model_from_json(_inside(path, spec["file"]).read_text())
    if kind == "sklearn":
        return _load_skops(_inside(path, spec["file"]))
    raise BrokenModelError(f"{path}: unknown stored kind {kind!r} for {key}")


def _load_skops(file: Path) -> Any:
    try:
        return load_allowed(file.read_bytes())  # checked and loaded from the same bytes
    except RefusedFile as err:
        raise BrokenModelError(f"{file} refused: {err}") from err


def _inside(path: Path, name: str) -> Path:
    """``path / name``, refusing names that would leave the model folder."""
    target = (path / name).resolve()
    if path.resolve() not in target.parents:
        raise BrokenModelError(f"{path}: {name!r} points outside the model folder")
    return target


# ---- small helpers ------------------------------------------------------------------------------
def _replace(tmp: Path, path: Path) -> None:
    """Move the finished folder into place; an old folder at ``path`` is moved aside first."""
    old = None
    if path.exists():
        old = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(path, old)
    try:
        os.replace(tmp, path)
    except OSError:
        if not path.exists() and old is not None:
            os.replace(old, path)  # put the old model back rather than leave nothing
            old = None
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _is_plain(x: Any) -> bool:
    """A JSON value that reads back as itself (no numpy scalars, no nan / inf)."""
    if isinstance(x, float) and not isinstance(x, np.generic):
        return math.isfinite(x)
    return x is None or (isinstance(x, bool | int | str) and not isinstance(x, np.generic))


def _plain(value: Any) -> Any:
    """JSON-ready copy of parameter values (for meta.json, which people read)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _dump_json(file: Path, data: Any) -> None:
    file.write_text(json.dumps(data, indent=1, allow_nan=False))
