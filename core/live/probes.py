"""Start-up probes for the live engine: how much history a detector needs behind a new reading, and
whether it can score a batch of new readings at once without look-ahead.

Pure functions of ``of(window) -> array`` (one row per reading of the window: the calibrated score and
the expected reading, from ``core.detect.scoring.score_frame``); ``core.live.engine.init_state`` calls
them once on the warm-up.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Of = Callable[[pd.DataFrame], np.ndarray]


def auto_context(of: Of, hist: pd.DataFrame, start: int = 48, probe: int = 24) -> int:
    """Shortest window (doubling from ``start``) whose last ``probe`` rows equal those of the whole
    history: a live number then equals the offline number of the series cut at that reading."""
    probe = max(1, min(probe, len(hist) // 4))
    reference = of(hist)[-probe:]
    guess = max(2, start)
    while guess < len(hist) - probe:
        if same_numbers(of(hist.iloc[-(guess + probe) :])[-probe:], reference):
            return guess
        guess *= 2
    return len(hist)


def leading_nan(score: np.ndarray) -> int:
    """Readings at the start of a scored window that have no score yet (a detector's own warm-up)."""
    finite = np.flatnonzero(np.isfinite(score))
    return int(finite[0]) if finite.size else len(score)


def is_batch_causal(of: Of, hist: pd.DataFrame, context: int, probe: int = 12) -> bool:
    """Does ``of`` on a window ending later give the same numbers as windows ending at each reading?"""
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
    """Equal up to 1e-6 of the larger magnitude, NaN equal to NaN."""
    b = np.asarray(b, dtype=float)
    scale = max(1.0, float(np.nanmax(np.abs(b))) if np.isfinite(b).any() else 1.0)
    return bool(np.allclose(a, b, rtol=0.0, atol=1e-6 * scale, equal_nan=True))
