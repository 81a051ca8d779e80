"""Seasonal naive baseline: the reading is expected to repeat the same time last week."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.detect.detectors._common import robust_scale
from core.detect.detectors.base import Detector, register
from core.detect.features import DAY, WEEK, steps_per


@register
class SeasonalNaiveDetector(Detector):
    """Residual against the same time one season ago (a week by default), robustly scaled.

    ``expected`` is last season's reading shifted by the median residual; the band comes from the
    residual quantiles seen in training. The first season has no reference and scores NaN.
    """

    name = "seasonal_naive"
    title = "Seasonal naive (same time last week)"
    forecasting = True

    def __init__(self, season: str = "week", band_quantile: float = 0.995) -> None:
        self.season = season
        self.band_quantile = band_quantile

    def _lag(self, frame: pd.DataFrame) -> pd.Series:
        period = WEEK if self.season == "week" else DAY
        return frame["value"].astype(float).shift(steps_per(frame.index, period))

    def _fit(self, frame: pd.DataFrame, progress=None) -> None:
        if self.season not in ("week", "day"):
            raise ValueError(f"season must be 'week' or 'day', got {self.season!r}")
        resid = (frame["value"] - self._lag(frame)).to_numpy(dtype=float)
        resid = resid[np.isfinite(resid)]
        if resid.size == 0:  # shorter than one season: fall back to day-on-day differences
            resid = np.diff(frame["value"].to_numpy(dtype=float))
            resid = resid[np.isfinite(resid)]
        self.center_ = float(np.median(resid))
        self.scale_ = robust_scale(resid)
        q = self.band_quantile
        self.band_ = [float(np.quantile(resid, 1 - q)), float(np.quantile(resid, q))]

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        resid = frame["value"] - self._lag(frame) - self.center_
        return (resid.abs() / self.scale_).to_numpy(dtype=float)

    def _expected(self, frame: pd.DataFrame) -> pd.DataFrame:
        lag = self._lag(frame)
        return pd.DataFrame(
            {
                "expected": lag + self.center_,
                "lower": lag + self.band_[0],
                "upper": lag + self.band_[1],
            },
            index=frame.index,
        )
