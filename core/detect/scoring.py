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

from core.detect.detectors import Detector
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
    detector: Detector,
    frame: pd.DataFrame,
    *,
    profile: WeekProfile | None = None,
    last: int | None = None,
) -> pd.DataFrame:
    """The scored frame of ``frame`` under a fitted ``detector``.

    Parameters
    ----------
    profile
        the week profile that fills ``expected / lower / upper`` for detectors that do not forecast
        (and a forecast's warm-up). Default: learned from ``frame`` itself (a retrospective view);
        live and warm-up detection pass the profile learned on the warm-up, so no later reading
        changes an earlier expectation.
    last
        only the newest ``last`` readings are scored and returned (the rows before them are their
        history): ``score_frame(...).iloc[-last:]``, without scoring the rest
        (``Detector.score_tail``).
    """
    if last is None:
        raw = detector.score(frame)
        rows = frame
    else:
        raw = detector.score_tail(frame, last)
        rows = frame.iloc[len(frame) - len(raw) :]
    score = detector.calibrated_scores(frame, raw)  # detector.calibrated, from the same pass
    band = _expected(detector, frame, profile or fit_profile(frame["value"]), rows.index)
    value = rows["value"].astype(float)
    out = pd.DataFrame(
        {
            "value": value,
            "score": score.to_numpy(dtype=float),
            "raw_score": raw.to_numpy(dtype=float),
            "expected": band["expected"].to_numpy(dtype=float),
            "lower": band["lower"].to_numpy(dtype=float),
            "upper": band["upper"].to_numpy(dtype=float),
        },
        index=rows.index,
    )
    out["deviation"] = out["value"] - out["expected"]
    for col in rows.columns:
        if col not in out.columns:
            out[col] = rows[col]
    return out


def _expected(
    detector: Detector, frame: pd.DataFrame, profile: WeekProfile, index: pd.DatetimeIndex
) -> pd.DataFrame:
    """``expected / lower / upper`` at ``index`` (``frame``'s, or its tail), forecast from
    ``frame``."""
    fallback = profile.band(index)
    if getattr(detector, "forecasting", False):
        try:
            band = detector.expected(frame).reindex(index)[["expected", "lower", "upper"]]
        except (TypeError, NotImplementedError):
            return fallback  # an ensemble without forecasting members, say
        # the forecast's warm-up (first week for seasonal naive, say) is filled from the profile
        missing = band["expected"].isna()
        band.loc[missing] = fallback.loc[missing].to_numpy()
        return band
    return fallback
