"""Frame -> fitted detector (from disk when the same model exists) -> scored frame.

Model folders live at ``<root>/<digest[:16]>/<detector>-<key>/`` where ``key`` hashes the detector
settings and the versions of the libraries the model depends on, so a library upgrade never loads a
stale model. ``fit_detector`` looks in ``PRETRAINED_DIR`` first (committed models for the bundled
samples, read-only), then in the run-time cache ``MODELS_DIR`` (``models/cache``, or the folder named by
``WATTSUP_MODELS_DIR``). A folder that cannot be loaded or does not match is ignored: the detector is
refitted and the new ``meta.json`` records why in ``warnings``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.detect.code_version import code_version
from core.detect.detectors import REGISTRY, Detector
from core.detect.detectors.base import Progress
from core.store.model_cache import CacheLimits, mark_used, quarantine, trim
from core.store.model_files import (
    BrokenModelError,
    StoreError,
    load_detector,
    read_meta,
    save_detector,
)
from core.store.versions import library_versions

REPO = Path(__file__).resolve().parents[2]


def default_models_dir() -> Path:
    """The run-time model cache: ``$WATTSUP_MODELS_DIR`` when set, else ``models/cache``."""
    return Path(os.environ.get("WATTSUP_MODELS_DIR") or REPO / "models" / "cache")


MODELS_DIR = default_models_dir()  # read once at import; pass ``root=`` to use another folder
PRETRAINED_DIR = REPO / "models" / "pretrained"


class FrozenDict(dict):
    """A read-only dict that hashes, so a parameter like ``member_params`` can sit in settings."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))

    def _readonly(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("detector settings are frozen")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return FrozenDict({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class DetectorSettings:
    """Which detector with which parameters: frozen and hashable, so it keys caches and folders.

    ``params`` is stored as a sorted tuple of ``(name, value)`` pairs (lists become tuples, dicts
    become read-only hashable dicts); ``DetectorSettings.of("lof", n_neighbors=20)`` builds one.
    """

    detector: str = "ensemble"
    params: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        pairs = dict(self.params)
        frozen = tuple(sorted((str(k), _freeze(v)) for k, v in pairs.items()))
        object.__setattr__(self, "params", frozen)

    @classmethod
    def of(cls, detector: str = "ensemble", **params: Any) -> DetectorSettings:
        return cls(detector, tuple(params.items()))

    def kwargs(self) -> dict[str, Any]:
        """The parameters as keyword arguments for the detector's ``__init__``."""
        return {k: _thaw(v) for k, v in self.params}

    def key(self) -> str:
        """16 hex characters of sha256 over detector, params, library versions and detector code."""
        blob = json.dumps(
            {
                "detector": self.detector,
                "params": _plain(dict(self.params)),
                "versions": library_versions(),
                "code": code_version(),
            },
            sort_keys=True,
            default=repr,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _thaw(value: Any) -> Any:
    if isinstance(value, FrozenDict):
        return {k: _thaw(v) for k, v in value.items()}
    return value


def model_dir(digest: str, settings: DetectorSettings, root: str | Path = MODELS_DIR) -> Path:
    """Where the model for (data, settings) lives under ``root``."""
    return Path(root) / digest[:16] / f"{settings.detector}-{settings.key()}"


def saved_meta(
    digest: str,
    settings: DetectorSettings,
    *,
    root: str | Path = MODELS_DIR,
    pretrained: str | Path | None = PRETRAINED_DIR,
) -> dict[str, Any]:
    """``meta.json`` of the saved model ``fit_detector`` would load (pretrained first), or ``{}``."""
    for base in (pretrained, root):
        if base is not None and (meta := read_meta(model_dir(digest, settings, base))):
            return meta
    return {}


def make_detector(settings: DetectorSettings) -> Detector:
    """A fresh, unfitted detector for the settings; ``ValueError`` for an unknown name."""
    cls = REGISTRY.get(settings.detector)
    if cls is None:
        raise ValueError(
            f"unknown detector {settings.detector!r}; choose from {', '.join(sorted(REGISTRY))}"
        )
    return cls(**settings.kwargs())


def labelled_digest(digest: str, labels: pd.Series | None) -> str:
    """The data digest extended with the labels a supervised detector learns from (unchanged
    without labels), so a model trained on other labels is never loaded for these."""
    if labels is None:
        return digest
    values = labels.to_numpy(dtype=float)
    h = hashlib.sha256(digest.encode())
    h.update(np.asarray(labels.index.asi8, dtype=np.int64).tobytes())
    h.update(np.nan_to_num(values, nan=-1.0).tobytes())
    return h.hexdigest()


def fit_detector(
    frame: pd.DataFrame,
    digest: str,
    settings: DetectorSettings,
    *,
    labels: pd.Series | None = None,
    progress: Progress | None = None,
    root: str | Path = MODELS_DIR,
    pretrained: str | Path | None = PRETRAINED_DIR,
) -> Detector:
    """The fitted detector for ``frame``: loaded from ``pretrained`` or ``root`` when a matching model
    exists, else fitted and saved under ``root`` (saving problems are warned about, never raised).

    A folder that cannot be loaded (refused by the trust checks, or corrupt) is ignored with one
    ``RuntimeWarning``; in the cache it is also moved to quarantine, so it is never loaded again.
    After a save the cache is trimmed to ``CacheLimits.from_env()``. The committed pretrained
    folder is never moved or trimmed, even when ``scripts/pretrain.py`` saves into it as ``root``.
    ``labels`` (1 anomaly, 0 not, NaN unknown) reach only detectors declared ``supervised`` (the
    learned one), and key its folder with the data (``labelled_digest``).
    """
    supervised = getattr(REGISTRY.get(settings.detector), "supervised", False)
    labels = labels if supervised else None
    digest = labelled_digest(digest, labels)
    problems: list[str] = []
    is_cache = Path(root).resolve() != Path(PRETRAINED_DIR).resolve()
    for base, in_cache in ((pretrained, False), (root, is_cache)):
        if base is None:
            continue
        folder = model_dir(digest, settings, base)
        if not folder.exists():
            continue
        try:
            det = _load_matching(folder, digest, settings)
        except StoreError as err:
            problems.append(f"ignored {folder}: {err}{_set_aside(err, folder, root, in_cache)}")
            continue
        if in_cache:
            mark_used(folder)
        if problems:  # a broken pretrained model, with a good one in the cache
            warnings.warn(f"loaded {folder}: {'; '.join(problems)}", RuntimeWarning, stacklevel=2)
        if progress:
            progress(1.0, "Loaded the saved model")
        return det
    if problems:
        warnings.warn(f"refitting: {'; '.join(problems)}", RuntimeWarning, stacklevel=2)
    det = make_detector(settings)
    start = time.perf_counter()
    if labels is None:
        det.fit(frame, progress=progress)
    else:
        det.fit(frame, labels=labels, progress=progress)  # type: ignore[call-arg]
    seconds = time.perf_counter() - start
    meta = {
        "digest": digest,
        "settings_key": settings.key(),
        "code_version": code_version(),
        "params": _plain(settings.kwargs()),
        "fit_seconds": round(seconds, 3),
        "n_points": len(frame),
        "warnings": problems,
    }
    folder = model_dir(digest, settings, root)
    try:
        save_detector(det, folder, meta)
    except (StoreError, OSError) as err:
        warnings.warn(f"model not saved: {err}", RuntimeWarning, stacklevel=2)
        return det
    if is_cache:
        try:
            trim(root, CacheLimits.from_env(), keep=folder)
        except (OSError, ValueError) as err:  # ValueError: a bad WATTSUP_MODELS_* setting
            warnings.warn(f"model cache not trimmed: {err}", RuntimeWarning, stacklevel=2)
    return det


def _set_aside(err: StoreError, folder: Path, root: str | Path, in_cache: bool) -> str:
    """Quarantine a cache folder that cannot be loaded; what happened, to append to the warning.

    A folder for other settings or versions (plain ``StoreError``) is left: the refit replaces it.
    """
    if not (in_cache and isinstance(err, BrokenModelError)):
        return ""
    try:
        moved = quarantine(folder, root)
    except OSError as exc:
        return f" (could not be set aside: {exc})"
    return f" (moved to {moved})" if moved else " (deleted)"


def _load_matching(folder: Path, digest: str, settings: DetectorSettings) -> Detector:
    """The detector in ``folder``: ``StoreError`` when it was saved for other data, settings or
    versions, ``BrokenModelError`` when it cannot be loaded or is not what its meta says."""
    meta = read_meta(folder)
    expected = {
        "digest": digest,
        "detector": settings.detector,
        "versions": library_versions(),
        "code_version": code_version(),
        "params": _plain(settings.kwargs()),
    }
    wrong = [k for k, v in expected.items() if meta.get(k) != v]
    if wrong:
        raise StoreError(f"meta.json does not match on {', '.join(wrong)}")
    det = load_detector(folder, REGISTRY)
    if det.name != settings.detector or not det.is_fitted:
        raise BrokenModelError("the saved detector is not the one asked for, or not fitted")
    return det


def causal_settings(settings: DetectorSettings) -> DetectorSettings:
    """The same detector with trailing windows only, when it has that option.

    Live detection may score a reading only from what came before it; causal features also let a
    whole batch of new readings be scored in one call (see ``core.live.engine``).
    """
    cls = REGISTRY.get(settings.detector)
    if cls is None or "causal" not in cls._param_names():
        return settings
    return DetectorSettings.of(settings.detector, **{**settings.kwargs(), "causal": True})
