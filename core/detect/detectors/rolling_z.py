"""Rolling robust z-score baseline: distance from the recent median in recent MADs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.detect.detectors._common import robust_scale
from core.detect.detectors.base import Detector, register
from core.detect.features import WEEK, steps_per
from core.detect.profile import MAD_TO_SIGMA


@register
class RollingZDetector(Detector):
    """``|value - rolling median| / (1.4826 * rolling MAD)`` over the previous ``window`` steps
    (default: one week, so the window spans whole daily cycles and a day-long event cannot
    become its own baseline).

    The window excludes the current reading, so a spike cannot hide itself. The spread has a floor
    learned in training (a tenth of the typical step-to-step change) so flat stretches do not divide
    by zero. ``expected`` is the rolling median with a ``band_k``-sigma band.
    """

    name = "rolling_z"
    title = "Rolling robust z-score"
    forecasting = True

    def __init__(self, window: int | None = None, band_k: float = 3.0) -> None:
        self.window = window
        self.band_k = band_k

    def lookback(self, index: pd.DatetimeIndex) -> int:
        return max(3, self.window or steps_per(index, WEEK)) + 1

    def _window(self, frame: pd.DataFrame) -> int:
        return max(3, self.window or steps_per(frame.index, WEEK))

    def _center_spread(self, frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        w = self._window(frame)
        past = frame["value"].astype(float).shift(1)
        median = past.rolling(w, min_periods=max(2, w // 2)).median()
        mad = (past - median).abs().rolling(w, min_periods=max(2, w // 2)).median()
        sigma = (MAD_TO_SIGMA * mad).clip(lower=self.floor_)
        return median, sigma

    def _fit(self, frame: pd.DataFrame, progress=None) -> None:
        self.floor_ = 0.1 * robust_scale(frame["value"].diff()) + 1e-9

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        median, sigma = self._center_spread(frame)
        return ((frame["value"] - median).abs() / sigma).to_numpy(dtype=float)

    def _expected(self, frame: pd.DataFrame) -> pd.DataFrame:
        median, sigma = self._center_spread(frame)
        half = self.band_k * sigma
        return pd.DataFrame(
            {"expected": median, "lower": median - half, "upper": median + half}, index=frame.index
        )
