"""Start-up probes for the live simulation: how much history a detector needs, whether it can score
a batch at once without look-ahead, and the fixed threshold, profile and scale a stream is judged by.

Pure functions over a fitted detector and the warm-up history; ``core.live.engine`` calls them once in
``init_state`` (and the expectation helper on every step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.detect.detectors._common import fit_week_profile, week_slot
from core.detect.detectors.base import Detector

if TYPE_CHECKING:
    from core.live.engine import LiveSettings


def auto_context(detector: Detector, hist: pd.DataFrame, probe: int = 24) -> int:
    """Shortest window (doubling) whose last ``probe`` scores equal those of the whole history."""
    probe = max(1, min(probe, len(hist) // 4))
    reference = detector.calibrated(hist).to_numpy()[-probe:]
    guess = max(48, 2 * leading_nan(detector, hist))
    while guess < len(hist) - probe:
        got = detector.calibrated(hist.iloc[-(guess + probe) :]).to_numpy()[-probe:]
        if same_numbers(got, reference):
            return guess
        guess *= 2
    return len(hist)


def leading_nan(detector: Detector, hist: pd.DataFrame) -> int:
    s = detector.score(hist.iloc[: min(len(hist), 2000)]).to_numpy()
    finite = np.flatnonzero(np.isfinite(s))
    return int(finite[0]) if finite.size else len(s)


def is_batch_causal(of, hist: pd.DataFrame, context: int, probe: int = 12) -> bool:
    """Does ``of`` on a window ending later give the same numbers as on windows ending at each
    reading? (``of``: window -> one value per row, e.g. ``detector.calibrated``.)"""
    probe = max(1, min(probe, len(hist) // 4))
    if len(hist) < 2 * probe:
        return False
    window = hist.iloc[-(context + probe) :]  # all of the history when it is shorter than that
    n = len(window)
    joint = np.asarray(of(window), dtype=float)[-probe:]
    alone = np.array(
        [np.asarray(of(window.iloc[: n - probe + i + 1]), dtype=float)[-1] for i in range(probe)]
    )
    return same_numbers(joint, alone)


def same_numbers(a: np.ndarray, b: np.ndarray) -> bool:
    scale = max(1.0, float(np.nanmax(np.abs(b))) if np.isfinite(b).any() else 1.0)
    return bool(np.allclose(a, b, rtol=0.0, atol=1e-6 * scale, equal_nan=True))


def resolve_threshold(detector: Detector, hist: pd.DataFrame, settings: LiveSettings) -> float:
    """The sigma threshold; other modes are turned into one fixed value on the history's scores."""
    if settings.mode == "sigma":
        return float(settings.k)
    s = detector.calibrated(hist).to_numpy()
    s = s[np.isfinite(s)]
    if s.size == 0:
        return float(settings.k)
    if settings.mode == "percentile":
        return float(np.percentile(s, settings.percentile))
    if settings.mode == "per_month":
        months = max(1.0, (hist.index[-1] - hist.index[0]) / pd.Timedelta("30D"))
        share = min(1.0, settings.alerts_per_month * months / s.size)
        return float(np.quantile(s, 1.0 - share))
    return float(settings.k)  # dynamic: its window needs more than a live tick; fall back to sigma


def week_profile(hist: pd.DataFrame) -> np.ndarray:
    """Median reading per time-of-week slot of the history (the detectors' own profile)."""
    return fit_week_profile(hist)[0]


def expected_of(detector: Detector, window: pd.DataFrame, profile: np.ndarray) -> pd.Series:
    if detector.forecasting:
        return detector.expected(window)["expected"]
    return pd.Series(profile[week_slot(window.index)], index=window.index, name="expected")


def robust_sigma(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 1.0
    mad = 1.4826 * float(np.median(np.abs(v - np.median(v))))
    return mad if mad > 0 else float(np.std(v)) or 1.0
