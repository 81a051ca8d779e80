"""Helpers shared by several detectors: a robust week profile and the feature matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.detect.features import (
    SHORT,
    centred_mean,
    feature_lookback,
    holiday_flags,
    lagged,
    seasonal_steps,
    step_of,
    steps_per,
    typical_of,
)
from core.detect.profile import MAD_TO_SIGMA, day_of_year, year_pattern

# Feature columns the feature-based detectors (Isolation Forest, LOF, One-Class SVM) learn from.
# On the log scale (the default for non-negative meters) every difference is a relative change.
MODEL_FEATURES: tuple[str, ...] = (
    "value",
    "diff_1",
    "diff_week",
    "dev_typical",
    "dev_typical_short",
    "dev_typical_day",
    "dev_profile",
    "dev_profile_short",
    "dev_profile_day",
    "hour_sin",
    "hour_cos",
    "weekend",
    "holiday",
)
EXTRA_LABELS: dict[str, str] = {
    "dev_profile": "difference from the usual reading for this time of the week (whole history)",
    "dev_profile_short": "difference from the usual reading for this time of the week, over the "
    "surrounding six hours",
    "dev_profile_day": "difference from the usual reading for this time of the week, over the "
    "surrounding day",
    "hour_sin": "hour of day",
    "hour_cos": "hour of day",
    "weekend": "weekend",
}
LOG_OFFSET = 0.05  # log(value + 5 % of the median): relative changes, and zero readings stay finite


def robust_scale(x: np.ndarray | pd.Series, floor: float = 1e-9) -> float:
    """MAD-based sigma of ``x`` (NaNs ignored); falls back to the std, then to ``floor``."""
    a = np.asarray(x, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return floor
    mad = MAD_TO_SIGMA * float(np.median(np.abs(a - np.median(a))))
    if mad > floor:
        return mad
    std = float(np.std(a))
    return std if std > floor else floor


def week_slot(index: pd.DatetimeIndex) -> np.ndarray:
    """Position of each timestamp within its week, in steps (0 .. steps per week - 1)."""
    day, week = seasonal_steps(index)
    step_s = step_of(index).total_seconds()
    seconds = index.hour * 3600 + index.minute * 60 + index.second
    within_day = np.minimum((np.asarray(seconds) // max(step_s, 1)).astype(int), day - 1)
    return np.asarray(index.dayofweek * day + within_day, dtype=int) % week


def fit_week_profile(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust spread of the reading at each time of the week.

    Slots never seen fall back to the overall median and spread, so scoring never needs them.
    """
    _, week = seasonal_steps(frame.index)
    v = frame["value"].to_numpy(dtype=float)
    slot = week_slot(frame.index)
    ok = np.isfinite(v)
    overall = float(np.median(v[ok]))
    grouped = pd.Series(v[ok]).groupby(slot[ok])
    median = np.full(week, overall)
    med = grouped.median()
    median[med.index.to_numpy()] = med.to_numpy()
    resid = v[ok] - median[slot[ok]]
    spread = np.full(week, robust_scale(resid))
    return median, spread


def value_transform(frame: pd.DataFrame) -> tuple[bool, float]:
    """``(use_log, offset)`` for this training frame: log scale unless readings go negative."""
    v = frame["value"].to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    use_log = bool(v.size) and float(np.mean(v < 0)) <= 0.01
    offset = LOG_OFFSET * float(np.median(np.abs(v))) if v.size else 0.0
    return use_log, max(offset, 1e-6)


def transformed(frame: pd.DataFrame, use_log: bool, offset: float) -> pd.DataFrame:
    """The frame with ``value`` on the model's scale (log of value + offset, or unchanged)."""
    if not use_log:
        return frame
    out = frame.copy()
    out["value"] = np.log(frame["value"].astype(float).clip(lower=0.0) + offset)
    return out


def model_matrix(
    frame: pd.DataFrame, profile: np.ndarray, country: str | None, causal: bool = False
) -> pd.DataFrame:
    """The feature-based detectors' inputs (``MODEL_FEATURES``), NaN only where the reading is.

    ``frame`` is already on the model's scale (see ``transformed``) and ``profile`` is the median
    reading per time of the week on that scale. Warm-up lags fall back to the nearest shorter lag
    (week -> day -> previous -> the value itself); the usual reading of the last weeks falls back
    to the profile, so the first weeks are still scored.
    """
    return pd.DataFrame(_model_columns(frame, profile, country, causal), index=frame.index)


def _model_columns(
    frame: pd.DataFrame, profile: np.ndarray, country: str | None, causal: bool
) -> dict[str, np.ndarray]:
    """``model_matrix``'s columns as arrays: the lags and the usual reading of ``feature_frame``
    (``lagged``, ``typical_of``), computed here with numpy (a detector scores a stream's newest
    reading from a window of history many times a second, and pandas costs ~10 ms a window)."""
    index = frame.index
    day, week = seasonal_steps(index)
    short = steps_per(index, SHORT)
    v = frame["value"].to_numpy(dtype=float)
    lag_1 = _filled(lagged(v, 1), v)
    lag_week = _filled(_filled(lagged(v, week), lagged(v, day)), lag_1)
    usual = profile[week_slot(index)]
    dev_typical = v - _filled(typical_of(v, week), usual)
    dev_profile = v - usual
    hour = np.asarray(index.hour + index.minute / 60.0, dtype=float)
    out = {
        "value": v,
        "diff_1": v - lag_1,
        "diff_week": v - lag_week,
        "dev_typical": dev_typical,
        "dev_typical_short": _mean(dev_typical, short, causal),
        "dev_typical_day": _mean(dev_typical, day, causal),
        "dev_profile": dev_profile,
        "dev_profile_short": _mean(dev_profile, short, causal),
        "dev_profile_day": _mean(dev_profile, day, causal),
        "hour_sin": np.sin(2 * np.pi * hour / 24),
        "hour_cos": np.cos(2 * np.pi * hour / 24),
        "weekend": np.asarray(index.dayofweek >= 5, dtype=float),
        "holiday": holiday_flags(index, country),
    }
    if "temperature" in frame.columns:
        out["temperature"] = (
            frame["temperature"].astype(float).ffill().bfill().fillna(0.0).to_numpy()
        )
    missing = np.isnan(v)
    if missing.any():
        out = {name: np.where(missing, np.nan, x) for name, x in out.items()}
    return out


def _filled(x: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(x), fallback, x)


def _mean(x: np.ndarray, window: int, causal: bool) -> np.ndarray:
    return centred_mean(pd.Series(x), window, causal).to_numpy(dtype=float)


def feature_rows(
    frame: pd.DataFrame,
    profile: np.ndarray,
    country: str | None,
    columns: list[str],
    causal: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, ok)``: the model matrix restricted to ``columns`` and the mask of scorable rows."""
    m = _model_columns(frame, profile, country, causal)
    neutral = np.zeros(len(frame))  # a covariate seen in training but absent now: neutral value
    x = np.column_stack([m.get(c, neutral) for c in columns]).astype(float, copy=False)
    ok = np.isfinite(x).all(axis=1)
    return x, ok


def fit_year(frame: pd.DataFrame, profile: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The yearly pattern of ``frame``'s readings around ``profile`` (``year_pattern``): ``None``
    with less than two years of readings."""
    resid = frame["value"].to_numpy(dtype=float) - profile[week_slot(frame.index)]
    return year_pattern(pd.Series(resid, index=frame.index))


def deseasoned(
    frame: pd.DataFrame, profile: np.ndarray, year: tuple[np.ndarray, np.ndarray] | None
) -> pd.DataFrame:
    """``frame`` with each reading's departure from its week ``profile`` taken relative to the
    yearly pattern: the day of the year's usual level removed, its usual spread scaled out. So a
    reading sits where it would in a season like any other (``frame`` itself when ``year`` is
    None)."""
    if year is None:
        return frame
    level, scale = year
    base = profile[week_slot(frame.index)]
    doy = day_of_year(frame.index)
    out = frame.copy()
    out["value"] = base + (frame["value"].to_numpy(dtype=float) - base - level[doy]) / scale[doy]
    return out


def scores_on(ok: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Spread ``values`` (one per ``ok`` row) back over all rows, NaN elsewhere."""
    out = np.full(ok.shape[0], np.nan)
    out[ok] = values
    return out


class FeatureModelMixin:
    """Shared fit/score for detectors that learn from ``model_matrix`` rows with scikit-learn.

    Subclasses define ``_estimator(n_rows)`` (an unfitted pipeline) and ``_raw(pipeline, X)`` (higher =
    more anomalous); they keep ``country``, ``max_train`` and ``causal`` (trailing windows only, for
    live scoring) as parameters.
    """

    country: str | None
    causal: bool
    max_train: int | None
    random_state: int

    def _fit(self, frame: pd.DataFrame, progress=None) -> None:
        self.log_scale_, self.offset_ = value_transform(frame)
        scaled = transformed(frame, self.log_scale_, self.offset_)
        self.profile_, _ = fit_week_profile(scaled)
        self.year_ = fit_year(scaled, self.profile_)
        scaled = deseasoned(scaled, self.profile_, self.year_)
        columns = list(MODEL_FEATURES)
        if "temperature" in frame.columns and frame["temperature"].notna().any():
            columns.append("temperature")
        self.columns_ = columns
        x, ok = feature_rows(scaled, self.profile_, self.country, columns, self.causal)
        x = x[ok]
        if self.max_train and len(x) > self.max_train:
            rng = np.random.default_rng(self.random_state)
            x = x[np.sort(rng.choice(len(x), self.max_train, replace=False))]
        self.model_ = self._estimator(len(x)).fit(x)

    def lookback(self, index: pd.DatetimeIndex) -> int:
        return feature_lookback(index)

    def _model_scale(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` on the scale the model was trained on (log, yearly pattern taken out)."""
        scaled = transformed(frame, self.log_scale_, self.offset_)
        return deseasoned(scaled, self.profile_, getattr(self, "year_", None))

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows the model sees (columns ``columns_``, before scaling), e.g. for SHAP."""
        self._check_fitted()
        scaled = self._model_scale(frame)
        x, _ = feature_rows(scaled, self.profile_, self.country, self.columns_, self.causal)
        return pd.DataFrame(x, index=frame.index, columns=self.columns_)

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        return self._score_tail(frame, len(frame))

    def _score_tail(self, frame: pd.DataFrame, n: int) -> np.ndarray:
        """Features from the whole frame (lags, rolling windows), the model on its last ``n`` rows."""
        scaled = self._model_scale(frame)
        x, ok = feature_rows(scaled, self.profile_, self.country, self.columns_, self.causal)
        x, ok = x[len(x) - n :], ok[len(ok) - n :]
        if not ok.any():
            return np.full(n, np.nan)
        return scores_on(ok, self._raw(self.model_, x[ok]))
