"""Fitted detector + frame -> the scored frame every later step reads (thresholds, events, charts).

Columns (``SCORED_COLUMNS``, in this order, then ``label`` and covariates when the frame has them):

``value``      the reading (float, NaN = missing)
``score``      the calibrated score: sigma-equivalent, the same scale for every detector
``raw_score``  the detector's own score (higher = more anomalous)
``expected``   what the reading should have been: the detector's forecast, else the week profile
``lower``      lower edge of the expected band
``upper``      upper edge of the expected band
``deviation``  ``value - expected``
"""

from __future__ import annotations

import pandas as pd

from core.detect.detectors import Detector, calibrate
from core.detect.profile import WeekProfile, fit_profile

SCORED_COLUMNS: tuple[str, ...] = (
    "value",
    "score",
    "raw_score",
    "expected",
    "lower",
    "upper",
    "deviation",
)


def score_frame(
    detector: Detector, frame: pd.DataFrame, *, profile: WeekProfile | None = None
) -> pd.DataFrame:
    """The scored frame of ``frame`` under a fitted ``detector``.

    Parameters
    ----------
    profile
        the week profile that fills ``expected / lower / upper`` for detectors that do not forecast
        (and a forecast's warm-up). Default: learned from ``frame`` itself (a retrospective view);
        live and warm-up detection pass the profile learned on the warm-up, so no later reading
        changes an earlier expectation.
    """
    raw = detector.score(frame)
    if type(detector).calibrated is Detector.calibrated:
        score = calibrate(raw, detector.calibration_)  # same as detector.calibrated, one pass
    else:
        score = detector.calibrated(frame)
    band = _expected(detector, frame, profile or fit_profile(frame["value"]))
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


def _expected(detector: Detector, frame: pd.DataFrame, profile: WeekProfile) -> pd.DataFrame:
    fallback = profile.band(frame.index)
    if getattr(detector, "forecasting", False):
        try:
            band = detector.expected(frame).reindex(frame.index)[["expected", "lower", "upper"]]
        except (TypeError, NotImplementedError):
            return fallback  # an ensemble without forecasting members, say
        # the forecast's warm-up (first week for seasonal naive, say) is filled from the profile
        missing = band["expected"].isna()
        band.loc[missing] = fallback.loc[missing].to_numpy()
        return band
    return fallback
