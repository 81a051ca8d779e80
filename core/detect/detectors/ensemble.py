"""The default detector: several members' calibrated scores combined into one.

Each member is fitted on the same frame and scored on the common sigma-equivalent scale
(``Detector.calibrated``), so members with very different raw scores can be compared. The combined
score gets its own calibration on top (in ``Detector.fit``), so ``calibrated > DEFAULT_K`` means the
same thing for the ensemble as for any single detector.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from core.detect.detectors.base import REGISTRY, Detector, register
from core.detect.features import steps_per

# Isolation Forest on log-scale features finds contextual anomalies (a day lower than usual); the
# fault rules add stuck meters, zeros and negatives that a density model can take for a quiet night.
# Adding seasonal naive, One-Class SVM, LSTM or Prophet lowered mean AUC-ROC and F1 on the LEAD
# buildings (scripts/tune_lead.py), and the slow ones cost 5-30 s per fit.
DEFAULT_MEMBERS: tuple[str, ...] = ("isolation_forest", "meter_fault")
# Default flag threshold on the calibrated scale. Calibration is rank-based on the training window,
# so ``calibrated > k`` flags a fixed share of training points: 2.3 % at 2.0 (0.13 % at 3.0, which
# would cap recall near 7 % on meters with ~2 % anomalous hours, as in the labelled LEAD data).
DEFAULT_K = 2.0
# A fault no working meter produces (half a day of identical readings, or at zero while the usual
# level is well above it: ``MeterFaultDetector.sure``) is a fault whatever the rest of the file
# looks like. The rank-based calibration cannot say so when such stretches fill a large share of
# the file: ten stuck days are 3 % of a year, share the top rank and calibrate near 1.5, below the
# threshold. So the ensemble's calibrated score is at least ``FAULT_FLOOR`` there, unless the
# training file is mostly such stretches (over ``FAULT_NATURAL``, half: a series flat or at
# zero most of the time, where that is how it behaves).
FAULT_FLOOR = DEFAULT_K + 0.5
FAULT_NATURAL = 0.5
COMBINERS = ("max", "mean", "top2")


@register
class EnsembleDetector(Detector):
    """Combine members' calibrated scores by ``combine`` ("max", "mean" or "top2": mean of the two
    highest), then smooth over ``smooth_hours`` with a centred rolling mean (trailing with
    ``causal=True``, which also makes members use trailing features) so multi-hour events
    score as a block.

    ``member_params`` maps a member name to keyword arguments for it (e.g. tiny LSTM settings).
    """

    name = "ensemble"
    title = "Ensemble"

    def __init__(
        self,
        members: tuple[str, ...] = DEFAULT_MEMBERS,
        combine: str = "max",
        smooth_hours: float = 3.0,
        member_params: dict[str, dict[str, Any]] | None = None,
        causal: bool = False,
    ) -> None:
        self.members = members
        self.combine = combine
        self.smooth_hours = smooth_hours
        self.member_params = member_params
        self.causal = causal

    @property
    def forecasting(self) -> bool:  # type: ignore[override]
        return any(REGISTRY[m].forecasting for m in self.members if m in REGISTRY)

    def _fit(self, frame: pd.DataFrame, progress=None) -> None:
        unknown = [m for m in self.members if m not in REGISTRY or m == self.name]
        if unknown or not self.members:
            raise ValueError(f"unknown ensemble members {unknown}; choose from {sorted(REGISTRY)}")
        if self.combine not in COMBINERS:
            raise ValueError(f"combine must be one of {COMBINERS}, got {self.combine!r}")
        params = self.member_params or {}
        fitted: dict[str, Detector] = {}
        for i, m in enumerate(self.members):
            sub = None
            if progress is not None:
                n = len(self.members)

                def sub(f: float, msg: str, i: int = i, n: int = n, m: str = m) -> None:
                    progress((i + f) / n, f"{m}: {msg}")

            kwargs = dict(params.get(m, {}))
            if self.causal and "causal" in REGISTRY[m]._param_names():
                kwargs.setdefault("causal", True)
            fitted[m] = REGISTRY[m](**kwargs).fit(frame, progress=sub)
        self.members_ = fitted
        sure = self._strong_faults(frame)
        self.fault_share_ = float(sure.mean()) if sure is not None and sure.size else 0.0

    def member_scores(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Each member's calibrated score, one column per member (-inf: a rule did not fire)."""
        self._check_fitted()
        return self._member_scores(frame)

    def _member_scores(self, frame: pd.DataFrame, n: int | None = None) -> pd.DataFrame:
        """One column per member; its last ``n`` rows only when ``n`` is given."""
        out = {}
        for m, det in self.members_.items():
            raw = det.score(frame) if n is None else det.score_tail(frame, n)
            z = det.calibrated_scores(frame, raw)
            fires_at = getattr(det, "fires_at", None)
            if fires_at is not None:  # a rule member adds evidence only where a rule fires
                z = z.where(raw >= fires_at, -np.inf).where(z.notna())
            out[m] = z
        return pd.DataFrame(out)

    def calibrated_scores(self, frame: pd.DataFrame, raw: pd.Series) -> pd.Series:
        """The calibrated combined score, raised to ``FAULT_FLOOR`` where a fault rule is sure."""
        z = super().calibrated_scores(frame, raw)
        if getattr(self, "fault_share_", 0.0) > FAULT_NATURAL:  # models fitted before it: 0
            return z
        sure = self._strong_faults(frame)
        if sure is None or not (sure := sure[len(frame) - len(z) :]).any():
            return z
        values = z.to_numpy(dtype=float)
        raised = np.where(sure & np.isfinite(values), np.fmax(values, FAULT_FLOOR), values)
        return pd.Series(raised, index=z.index, name=z.name)

    def _strong_faults(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Where a member that knows sure faults (``sure(frame)``) marks one (None: no such
        member)."""
        marks = [det.sure(frame) for det in self.members_.values() if hasattr(det, "sure")]
        return np.logical_or.reduce(marks) if marks else None

    def lookback(self, index: pd.DatetimeIndex) -> int:
        members = getattr(self, "members_", {})
        smooth = self._smooth_steps(index)
        return max((m.lookback(index) for m in members.values()), default=0) + smooth

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        return self._combined(self._member_scores(frame), frame)

    def _score_tail(self, frame: pd.DataFrame, n: int) -> np.ndarray:
        """The members on the last readings the trailing smoothing of the last ``n`` reads (every
        reading when smoothing is centred: it looks ahead)."""
        if not self.causal:
            return super()._score_tail(frame, n)
        rows = min(len(frame), n + self._smooth_steps(frame.index) - 1)
        tail = frame.iloc[len(frame) - rows :]
        return self._combined(self._member_scores(frame, rows), tail, frame.index)[rows - n :]

    def _smooth_steps(self, index: pd.DatetimeIndex) -> int:
        return int(round(self.smooth_hours * steps_per(index, pd.Timedelta("1h"))))

    def _combined(
        self, members: pd.DataFrame, frame: pd.DataFrame, index: pd.DatetimeIndex | None = None
    ) -> np.ndarray:
        """The members' scores (rows of ``frame``) combined, then smoothed over ``smooth_hours``
        (steps counted on ``index``, default ``frame.index``)."""
        z = members.to_numpy(dtype=float)
        missing = np.isnan(frame["value"].to_numpy(dtype=float))
        z = np.where(np.isneginf(z), np.nan, z)  # a silent rule is no evidence either way
        all_nan = np.isnan(z).all(axis=1)
        z_filled = np.where(np.isnan(z), -np.inf, z)
        if self.combine == "max":
            combined = z_filled.max(axis=1)
        else:
            k = z.shape[1] if self.combine == "mean" else min(2, z.shape[1])
            top = -np.sort(-z_filled, axis=1)[:, :k]
            top = np.where(np.isinf(top), np.nan, top)
            with warnings.catch_warnings():  # rows with nothing to average are set to NaN below
                warnings.simplefilter("ignore", RuntimeWarning)
                combined = np.nanmean(top, axis=1)
        combined = np.where(all_nan | missing, np.nan, combined)
        w = self._smooth_steps(frame.index if index is None else index)
        if w > 1:
            rolled = pd.Series(combined).rolling(w, center=not self.causal, min_periods=1)
            s = rolled.mean().to_numpy()
            if (
                self.causal
            ):  # a trailing mean would dilute a one-reading spike: keep the reading's own
                s = np.fmax(s, combined)
            combined = np.where(missing, np.nan, s)
        return combined

    def _expected(self, frame: pd.DataFrame) -> pd.DataFrame:
        for det in self.members_.values():
            if det.forecasting:
                return det.expected(frame)
        raise TypeError("no ensemble member forecasts")
