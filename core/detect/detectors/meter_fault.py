"""Rule detector for meter and data faults: stuck readings, drops to zero, negatives, jumps."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from core.detect.detectors.base import Detector, register
from core.detect.features import steps_per


def run_lengths(mask: np.ndarray, *, so_far: bool = False) -> np.ndarray:
    """For each True position, the length of the run of consecutive Trues it belongs to; else 0.

    ``so_far=True`` counts only up to that position (1, 2, 3, ...), so no later reading changes it.
    """
    m = np.asarray(mask, dtype=bool)
    out = np.zeros(m.size)
    if not m.any():
        return out
    edges = np.diff(np.r_[0, m.astype(int), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for s, e in zip(starts, ends, strict=True):
        out[s:e] = np.arange(1, e - s + 1) if so_far else e - s
    return out


@register
class MeterFaultDetector(Detector):
    """Physical rules, each scoring 0 when it does not fire and at least 1 when it does.

    * flat: ``min_flat_hours`` or more identical readings in a row; score = run length / minimum run;
    * drop to zero: readings at or below ``zero_fraction`` of the usual level, when that level is
      well above zero; score = 1 + run length / minimum run;
    * negative: score = 2 + how far below zero, relative to the usual level;
    * jump: a step change larger than ``jump_k`` times the largest usual step (the 99th percentile
      of step changes in training); score = size / limit.

    ``sure(frame)`` marks the runs no working meter produces (``sure_hours`` of identical readings,
    or at about zero): the ensemble keeps them above its threshold whatever their rank.

    The score is the largest rule score, so it grows with run length or severity. Points where no
    rule fires score below 1 (their step change over the jump limit), which keeps them ranked.
    ``causal=True`` (live detection) counts a run only up to each reading, so a stuck meter or a
    drop to zero is flagged once it has lasted long enough, never before it happens.
    """

    name = "meter_fault"
    title = "Meter fault rules"
    fires_at: ClassVar[float] = 1.0  # raw score at which a rule fires (the ensemble reads this)

    def __init__(
        self,
        min_flat_hours: float = 6.0,
        zero_fraction: float = 0.05,
        jump_k: float = 3.0,
        sure_hours: float = 12.0,
        causal: bool = False,
    ) -> None:
        self.min_flat_hours = min_flat_hours
        self.zero_fraction = zero_fraction
        self.jump_k = jump_k
        self.sure_hours = sure_hours
        self.causal = causal

    def _min_run(self, frame: pd.DataFrame) -> int:
        per_hour = steps_per(frame.index, pd.Timedelta("1h"))
        # at least three readings in a row: two equal neighbours happen by chance on coarse meters
        return max(3, int(round(self.min_flat_hours * per_hour)))

    def _fit(self, frame: pd.DataFrame, progress=None) -> None:
        v = frame["value"].to_numpy(dtype=float)
        ok = v[np.isfinite(v)]
        self.level_ = float(np.median(np.abs(ok)))
        steps = np.abs(np.diff(v))
        steps = steps[np.isfinite(steps)]
        # the largest usual step (99th percentile), not a MAD: daily ramps make steps heavy-tailed
        self.jump_scale_ = float(np.quantile(steps, 0.99)) if steps.size else 0.0
        self.jump_scale_ = max(self.jump_scale_, 1e-9 * max(1.0, self.level_))

    def _runs(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Values, and per reading the length of its run of identical readings and of readings at
        about zero (0 outside such runs); up to that reading only when ``causal``."""
        v = frame["value"].to_numpy(dtype=float)
        tol = 1e-9 * max(1.0, self.level_)
        same = np.r_[False, np.abs(np.diff(v)) <= tol]  # equal to the previous reading
        if self.causal:  # the run so far, counting the reading the repeats started from
            flat_runs = np.where(same, run_lengths(same, so_far=True) + 1, 0.0)
        else:
            flat_runs = run_lengths(same | np.r_[same[1:], False])
        low_runs = np.zeros(v.size)
        if self.level_ > 0:
            low = np.isfinite(v) & (v <= self.zero_fraction * self.level_) & (v >= 0)
            low_runs = run_lengths(low, so_far=self.causal)
        return v, flat_runs, low_runs

    def sure(self, frame: pd.DataFrame) -> np.ndarray:
        """Readings in a run no working meter produces: ``sure_hours`` or more of identical
        readings, or of readings at about zero while the usual level is well above it."""
        self._check_fitted()
        _, flat_runs, low_runs = self._runs(frame)
        steps = self.sure_hours * steps_per(frame.index, pd.Timedelta("1h"))
        return (flat_runs >= steps) | (low_runs >= steps)

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        v, flat_runs, low_runs = self._runs(frame)
        finite = np.isfinite(v)
        min_run = self._min_run(frame)
        flat = np.where(flat_runs >= min_run, flat_runs / min_run, 0.0)
        zero = np.where(low_runs > 0, 1.0 + low_runs / min_run, 0.0)

        negative = np.where(finite & (v < 0), 2.0 + np.abs(v) / max(self.level_, 1e-9), 0.0)

        limit = self.jump_k * self.jump_scale_
        step = np.abs(np.r_[np.nan, np.diff(v)])
        # below its limit the jump rule still ranks points by step size (scores under 1), so the
        # score has no huge block of ties at zero for the rank-based calibration to choke on
        jump = np.where(np.isfinite(step), step / limit, 0.0)

        out = np.maximum.reduce([flat, zero, negative, jump])
        out[~finite] = np.nan
        return out
