"""The detector contract, scikit-learn shaped.

* ``__init__`` only stores parameters (keyword arguments with defaults; ``get_params`` reads them back).
* ``fit(frame) -> self`` learns; fitted attributes end in ``_``. Fitted attributes must be of types that
  ``core.store.model_files`` can save safely: numbers, strings, lists/dicts of those, numpy arrays, pandas Series,
  scikit-learn estimators (saved with skops), Keras models (``.keras``) or Prophet models (JSON).
* ``score(frame) -> pd.Series`` aligned to ``frame.index``; higher always means more anomalous; NaN where a
  score is undefined (warm-up, missing reading).
* ``calibrated(frame) -> pd.Series``: the same score mapped onto one common scale learned on the training
  window (a "sigma-equivalent": about 1 % of training points lie above 2.33, 0.1 % above 3.09), so one
  threshold means the same thing whichever detectors are on.
* Forecasting detectors also give ``expected(frame) -> DataFrame[expected, lower, upper]``.
* No printing, no ``st.*``, no file I/O in a detector: saving and loading live in ``core.store.model_files``.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy import stats

Progress = Callable[[float, str], None]  # (fraction done 0..1, message) for the UI

REGISTRY: dict[str, type[Detector]] = {}


def register(cls: type[Detector]) -> type[Detector]:
    """Class decorator: add a detector to ``REGISTRY`` under ``cls.name``."""
    if not cls.name or cls.name in REGISTRY:
        raise ValueError(f"detector name {cls.name!r} is empty or already registered")
    REGISTRY[cls.name] = cls
    return cls


class NotFittedError(RuntimeError):
    """A detector was asked to score before it was fitted."""


class Detector:
    name: ClassVar[str] = ""  # registry key, e.g. "isolation_forest"
    title: ClassVar[str] = ""  # what a person reads, e.g. "Isolation Forest"
    forecasting: ClassVar[bool] = False  # True when ``expected`` is available
    min_points: ClassVar[int] = 48

    # ---- parameters ---------------------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self) -> dict[str, Any]:
        return {p: getattr(self, p) for p in self._param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ---- public API: validate, then delegate ----------------------------------------------------
    def fit(self, frame: pd.DataFrame, *, progress: Progress | None = None) -> Self:
        self._check_frame(frame, fitting=True)
        self._forget_scores()
        self._fit(frame, progress=progress)
        train = np.asarray(self._score(frame), dtype=float)
        self._remember_scores(frame, train)
        self.calibration_ = _calibration_table(train)
        self.train_start_ = str(frame.index[0])
        self.train_end_ = str(frame.index[-1])
        return self

    def score(self, frame: pd.DataFrame) -> pd.Series:
        self._check_fitted()
        self._check_frame(frame, fitting=False)
        values = self._recall_scores(frame)
        if values is None:
            values = np.asarray(self._score(frame), dtype=float)
            self._remember_scores(frame, values)
        return pd.Series(values.copy(), index=frame.index, name=self.name)

    def calibrated(self, frame: pd.DataFrame) -> pd.Series:
        return self.calibrated_scores(frame, self.score(frame))

    def calibrated_scores(self, frame: pd.DataFrame, raw: pd.Series) -> pd.Series:
        """``raw`` (this detector's scores of the last ``len(raw)`` readings of ``frame``) on the
        calibrated scale: one scoring pass gives both."""
        return calibrate(raw, self.calibration_)

    def score_tail(self, frame: pd.DataFrame, n: int) -> pd.Series:
        """``score(frame).iloc[-n:]``, computing no more than those ``n`` scores need: a stream
        judges its newest reading from the window behind it (``lookback``), not every reading of
        the window."""
        self._check_fitted()
        self._check_frame(frame, fitting=False)
        n = max(1, min(n, len(frame)))
        values = np.asarray(self._score_tail(frame, n), dtype=float)
        return pd.Series(values, index=frame.index[len(frame) - n :], name=self.name)

    def calibrated_tail(self, frame: pd.DataFrame, n: int) -> pd.Series:
        """``calibrated(frame).iloc[-n:]``, computed as ``score_tail`` is."""
        return self.calibrated_scores(frame, self.score_tail(frame, n))

    def expected(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not self.forecasting:
            raise TypeError(f"{self.title} does not forecast")
        self._check_fitted()
        self._check_frame(frame, fitting=False)
        return self._expected(frame)

    def lookback(self, index: pd.DatetimeIndex) -> int:
        """Readings of history a score at the end of ``index`` can depend on (0: not declared).

        Live detection keeps at least this many readings behind each new one, so a live score
        equals the offline score of the whole series; the live start-up probe covers the rest.
        """
        return 0

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "calibration_")

    # ---- the last scored frame ----------------------------------------------------------------
    # One detection run asks for the same frame's scores several times: a member's own calibration
    # in ``fit``, the ensemble's calibration, then ``score_frame``. The raw scores of the last frame
    # are kept (keyed by its content and the parameters; forgotten on every fit), so each pass is
    # computed once and the scores are exactly those of a fresh pass. Not a fitted attribute (the
    # leading underscore keeps it out of saved models).
    def _forget_scores(self) -> None:
        self._last_scores = None

    def _remember_scores(self, frame: pd.DataFrame, values: np.ndarray) -> None:
        self._last_scores = (self._frame_key(frame), values)

    def _recall_scores(self, frame: pd.DataFrame) -> np.ndarray | None:
        last = getattr(self, "_last_scores", None)
        if last is None or len(last[1]) != len(frame) or last[0] != self._frame_key(frame):
            return None
        return last[1]

    def _frame_key(self, frame: pd.DataFrame) -> str:
        return frame_digest(frame, repr(self.get_params()))

    # ---- to implement ---------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame, progress: Progress | None = None) -> None:
        raise NotImplementedError

    def _score(self, frame: pd.DataFrame) -> np.ndarray | pd.Series:
        raise NotImplementedError

    def _score_tail(self, frame: pd.DataFrame, n: int) -> np.ndarray:
        """The last ``n`` scores of ``frame``: all of them, then the tail, unless a detector
        whose scores are computed row by row overrides it."""
        return np.asarray(self._score(frame), dtype=float)[len(frame) - n :]

    def _expected(self, frame: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    # ---- checks -------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"{self.title or type(self).__name__} is not fitted yet: call fit first"
            )

    def _check_frame(self, frame: pd.DataFrame, *, fitting: bool) -> None:
        if not isinstance(frame, pd.DataFrame) or "value" not in frame.columns:
            raise ValueError(
                "expected a canonical frame with a 'value' column (see core.ingest.data)"
            )
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise ValueError("expected a DatetimeIndex")
        if fitting and frame["value"].notna().sum() < self.min_points:
            raise ValueError(
                f"{self.title} needs at least {self.min_points} readings to learn from, got "
                f"{int(frame['value'].notna().sum())}"
            )


def frame_digest(frame: pd.DataFrame, salt: str = "") -> str:
    """A digest of ``frame``'s index, column names, dtypes and values (numeric columns by their
    bytes: 2.4 M rows in ~20 ms; others through pandas' row hashing)."""
    h = hashlib.blake2b(salt.encode(), digest_size=16)
    index = frame.index
    h.update(repr((type(index).__name__, str(index.dtype), list(frame.columns))).encode())
    h.update(_column_bytes(index))
    for name in frame.columns:
        h.update(_column_bytes(frame[name]))
    return h.hexdigest()


def _column_bytes(values: pd.Index | pd.Series) -> bytes:
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "biufcmM":
        return np.ascontiguousarray(values.to_numpy()).tobytes()
    if isinstance(values, pd.Index):
        values = values.to_series(index=pd.RangeIndex(len(values)))
    return pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes()


# ---- calibration: raw score -> common sigma-equivalent scale -------------------------------------
_QUANTILES = np.linspace(0.0, 1.0, 1001)


def _calibration_table(train_scores: np.ndarray) -> np.ndarray:
    """Quantiles of the training scores (1001 points); NaNs ignored."""
    s = train_scores[np.isfinite(train_scores)]
    if s.size == 0:
        return np.zeros_like(_QUANTILES)
    return np.quantile(s, _QUANTILES)


def _empirical_cdf(s: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Linear interpolation of the quantile table; a value equal to a block of tied quantiles gets
    the midpoint of that block, so a score that is mostly one repeated value maps to the middle."""
    last = len(table) - 1
    left = np.searchsorted(table, s, side="left")
    right = np.searchsorted(table, s, side="right")
    tied = right > left
    p = np.empty_like(s)
    p[tied] = (left[tied] + right[tied] - 1) / 2 / last
    i = np.clip(left[~tied] - 1, 0, last)
    j = np.clip(left[~tied], 0, last)
    width = table[j] - table[i]
    frac = np.divide(s[~tied] - table[i], width, out=np.zeros_like(width), where=width > 0)
    p[~tied] = (i + np.clip(frac, 0.0, 1.0)) / last
    p[s < table[0]] = 0.0
    p[s > table[-1]] = 1.0
    return p


def calibrate(scores: pd.Series, table: np.ndarray) -> pd.Series:
    """Map raw scores to a normal quantile of their empirical training CDF.

    Inside the training range this is ``Phi^-1(F(s))``; above the training maximum the scale keeps
    growing linearly with the spread of the top tail, so extreme points stay ranked.
    """
    s = scores.to_numpy(dtype=float)
    table = np.asarray(table, dtype=float)
    lo, hi = table[0], table[-1]
    p = _empirical_cdf(s, table)
    p = np.clip(p, 0.0005, 0.9995)
    z = stats.norm.ppf(p)
    spread = max(table[-1] - table[-11], table[-1] - table[500], 1e-12) if hi > lo else 1.0
    z_hi = stats.norm.ppf(0.9995)
    above = s > hi
    z[above] = z_hi + (s[above] - hi) / spread
    z[~np.isfinite(s)] = np.nan
    return pd.Series(z, index=scores.index, name=scores.name)
