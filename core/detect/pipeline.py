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
from core.detect.detectors import REGISTRY, Detector, calibrate
from core.detect.detectors.base import Progress
from core.store.model_files import StoreError, load_detector, read_meta, save_detector
from core.store.versions import library_versions

REPO = Path(__file__).resolve().parents[2]


def default_models_dir() -> Path:
    """The run-time model cache: ``$WATTSUP_MODELS_DIR`` when set, else ``models/cache``."""
    return Path(os.environ.get("WATTSUP_MODELS_DIR") or REPO / "models" / "cache")


MODELS_DIR = default_models_dir()  # read once at import; pass ``root=`` to use another folder
PRETRAINED_DIR = REPO / "models" / "pretrained"
MAD_TO_SIGMA = 1.4826
PROFILE_K = 3.0  # half-width of the profile band in robust sigmas
SCORED_COLUMNS: tuple[str, ...] = (
    "value",
    "score",
    "raw_score",
    "expected",
    "lower",
    "upper",
    "deviation",
)


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


def fit_detector(
    frame: pd.DataFrame,
    digest: str,
    settings: DetectorSettings,
    *,
    progress: Progress | None = None,
    root: str | Path = MODELS_DIR,
    pretrained: str | Path | None = PRETRAINED_DIR,
) -> Detector:
    """The fitted detector for ``frame``: loaded from ``pretrained`` or ``root`` when a matching model
    exists, else fitted and saved under ``root`` (saving problems are warned about, never raised)."""
    problems: list[str] = []
    for base in (pretrained, root):
        if base is None:
            continue
        folder = model_dir(digest, settings, base)
        if not folder.exists():
            continue
        try:
            det = _load_matching(folder, digest, settings)
            if progress:
                progress(1.0, "Loaded the saved model")
            return det
        except (StoreError, OSError, ValueError, TypeError, KeyError) as err:
            problems.append(f"ignored {folder}: {err}")
            warnings.warn(f"refitting: {problems[-1]}", RuntimeWarning, stacklevel=2)
    det = make_detector(settings)
    start = time.perf_counter()
    det.fit(frame, progress=progress)
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
    try:
        save_detector(det, model_dir(digest, settings, root), meta)
    except (StoreError, OSError) as err:
        warnings.warn(f"model not saved: {err}", RuntimeWarning, stacklevel=2)
    return det


def _load_matching(folder: Path, digest: str, settings: DetectorSettings) -> Detector:
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
        raise StoreError("the saved detector is not the one asked for, or not fitted")
    return det


# ---- scoring ------------------------------------------------------------------------------------
def score_frame(detector: Detector, frame: pd.DataFrame) -> pd.DataFrame:
    """The scored frame: ``SCORED_COLUMNS`` plus ``label`` and covariates when the frame has them.

    ``score`` is the calibrated (sigma-equivalent) score, ``raw_score`` the detector's own. For
    detectors that do not forecast, ``expected/lower/upper`` come from ``weekly_profile``.
    """
    raw = detector.score(frame)
    if type(detector).calibrated is Detector.calibrated:
        score = calibrate(
            raw, detector.calibration_
        )  # same as detector.calibrated, one scoring pass
    else:
        score = detector.calibrated(frame)
    band = _expected(detector, frame)
    value = frame["value"].astype(float)
    out = pd.DataFrame(
        {
            "value": value,
            "score": score.to_numpy(dtype=float),
            "raw_score": raw.to_numpy(dtype=float),
            "expected": band["expected"].to_numpy(dtype=float),
            "lower": band["lower"].to_numpy(dtype=float),
            "upper": band["upper"].to_numpy(dtype=float),
        },
        index=frame.index,
    )
    out["deviation"] = out["value"] - out["expected"]
    for col in frame.columns:
        if col not in out.columns:
            out[col] = frame[col]
    return out


def _expected(detector: Detector, frame: pd.DataFrame) -> pd.DataFrame:
    profile = weekly_profile(frame["value"])
    if getattr(detector, "forecasting", False):
        try:
            band = detector.expected(frame).reindex(frame.index)[["expected", "lower", "upper"]]
        except (TypeError, NotImplementedError):
            return profile  # an ensemble without forecasting members, say
        # the forecast's warm-up (first week for seasonal naive, say) is filled from the profile
        missing = band["expected"].isna()
        band.loc[missing] = profile.loc[missing].to_numpy()
        return band
    return profile


def weekly_profile(value: pd.Series, k: float = PROFILE_K) -> pd.DataFrame:
    """Robust same-time-of-week profile: the median of readings at the same weekday and time of day,
    with a band of ``k`` robust sigmas (1.4826 x MAD of that slot).

    Slots with no reading fall back to the same time of day, then to the whole series.
    """
    idx = value.index
    minute = idx.hour * 60 + idx.minute
    slot = np.asarray(idx.dayofweek * 1440 + minute)
    v = value.astype(float)
    med = v.groupby(slot).transform("median")
    med = med.fillna(v.groupby(np.asarray(minute)).transform("median")).fillna(v.median())
    abs_dev = (v - med).abs()
    mad = abs_dev.groupby(slot).transform("median")
    mad = mad.fillna(abs_dev.groupby(np.asarray(minute)).transform("median"))
    mad = mad.fillna(abs_dev.median()).fillna(0.0)
    half = k * MAD_TO_SIGMA * mad
    return pd.DataFrame(
        {
            "expected": med.to_numpy(),
            "lower": (med - half).to_numpy(),
            "upper": (med + half).to_numpy(),
        },
        index=idx,
    )


def causal_settings(settings: DetectorSettings) -> DetectorSettings:
    """The same detector with trailing windows only, when it has that option.

    Live detection may score a reading only from what came before it; causal features also let a
    whole batch of new readings be scored in one call (see ``core.live.engine``).
    """
    cls = REGISTRY.get(settings.detector)
    if cls is None or "causal" not in cls._param_names():
        return settings
    return DetectorSettings.of(settings.detector, **{**settings.kwargs(), "causal": True})
