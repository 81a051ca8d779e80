"""A detector learned from a person's labels: gradient boosting on the LEAD-winning features.

``fit(frame, labels=...)`` takes the labels the way scikit-learn takes ``y``: a Series on the
frame's index with 1 where a person confirmed an anomaly (or marked a missed one), 0 where they
dismissed an event or called it expected, NaN where nobody said anything. Confirmed readings are
positives, dismissed and expected ones strong negatives (``strong_weight``), unlabelled ones weak
negatives (``weak_weight``): most of a meter's history is normal, but nobody checked it.

The features are those that won the LEAD competition (Large-scale Energy Anomaly Detection, 2022):
value changes ``x(t) - x(t-k)`` (divided by the meter's median level, so they mean the same on a
small and a large meter) and ratios ``x(t) / x(t-k)`` (as log ratios: trees only see the order) for
k in 1, 2, 3, 24, 48 and 168 hours, plus hour, weekday, the reading over its daily median, how long
the reading has stood still, temperature when the frame has it, and the calibrated score of the
unsupervised ensemble fitted on the same frame (``ensemble_``). The model is scikit-learn's
``HistGradientBoostingClassifier``, monotone in the ensemble score (more unsupervised evidence never
lowers it, so a few labelled kinds cannot teach that every other kind is normal) and trained only on
the readings up to the last label (``reviewed_only``: later ones nobody has looked at yet). The raw
score is its log-odds (plus ``ensemble_weight`` times the ensemble's calibrated score), smoothed like
the ensemble's, and goes through the same calibration (``Detector.fit``) and thresholds as every
detector. ``features(frame)`` gives the model's rows, so ``shap.TreeExplainer(det.model_)`` explains it.

Until there are at least ``min_confirmed`` confirmed events and ``min_dismissed`` dismissed or
expected ones, no model is trained (``model_`` is None), the score is the ensemble's and
``shortfall_`` says what is missing; ``label_shortfall`` answers the same before fitting.
Hyper-parameters were chosen by leave-one-building-out on the LEAD training months
(``benchmarks/labels.py``).
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from core.detect.detectors.base import Detector, Progress, _calibration_table, register
from core.detect.detectors.ensemble import EnsembleDetector
from core.detect.features import DAY, steps_per

LAG_HOURS: tuple[int, ...] = (1, 2, 3, 24, 48, 168)
LOG_OFFSET = 0.05  # log ratios of (x + 5 % of the median level): a zero reading stays finite


def label_runs(labels: pd.Series | None) -> tuple[int, int]:
    """``(confirmed, dismissed)``: how many runs of 1 and of 0 the labels hold (NaN splits runs)."""
    if labels is None or len(labels) == 0:
        return 0, 0
    y = labels.to_numpy(dtype=float)
    counts = []
    for value in (1.0, 0.0):
        mask = np.r_[False, y == value, False]
        counts.append(int(np.sum(np.diff(mask.astype(np.int8)) == 1)))
    return counts[0], counts[1]


def label_shortfall(
    labels: pd.Series | None, min_confirmed: int = 3, min_dismissed: int = 2
) -> str:
    """What is missing before the labels can train a model ("" when nothing is)."""
    confirmed, dismissed = label_runs(labels)
    need = []
    if confirmed < min_confirmed:
        need.append(
            f"{min_confirmed - confirmed} more confirmed anomal{'y' if min_confirmed - confirmed == 1 else 'ies'}"
        )
    if dismissed < min_dismissed:
        need.append(
            f"{min_dismissed - dismissed} more dismissed or expected event{'s' if min_dismissed - dismissed > 1 else ''}"
        )
    if not need:
        return ""
    return (
        f"the learned detector needs {' and '.join(need)} (has {confirmed} confirmed, "
        f"{dismissed} dismissed; needs {min_confirmed} and {min_dismissed})"
    )


def learned_features(
    frame: pd.DataFrame, ensemble_score: pd.Series, level: float, causal: bool = False
) -> pd.DataFrame:
    """The model's inputs on ``frame.index`` (NaN where a lag reaches before the first reading)."""
    v = frame["value"].astype(float)
    index = frame.index
    hour = pd.Timedelta("1h")
    offset = LOG_OFFSET * level
    log_v = np.log(v.clip(lower=0.0) + offset)
    out: dict[str, Any] = {}
    for k in LAG_HOURS:
        s = steps_per(index, k * hour)
        lagged = v.shift(s)
        out[f"diff_{k}h"] = (v - lagged) / level
        out[f"ratio_{k}h"] = log_v - log_v.shift(s)
    day = steps_per(index, DAY)
    median = v.rolling(day, center=not causal, min_periods=1).median()
    out["level"] = v / level
    out["over_day_median"] = (v - median) / level
    same = v.diff().abs().le(1e-9 * level)
    run_id = (~same).cumsum()
    out["still_for"] = same.groupby(run_id).cumsum().astype(float)
    out["hour"] = index.hour + index.minute / 60.0
    out["weekday"] = index.dayofweek.astype(float)
    out["ensemble"] = ensemble_score.to_numpy(dtype=float)
    if "temperature" in frame.columns:
        out["temperature"] = frame["temperature"].astype(float)
    features = pd.DataFrame(out, index=index)
    features.loc[v.isna(), :] = np.nan
    return features


@register
class LearnedDetector(Detector):
    """Gradient boosting on labelled readings (see the module docstring); falls back to the
    ensemble until the labels are enough."""

    name = "learned"
    title = "Learned from labels"
    supervised = True  # fit takes labels (core.detect.pipeline.fit_detector passes them)

    def __init__(
        self,
        max_iter: int = 150,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 20,
        l2_regularization: float = 1.0,
        strong_weight: float = 3.0,
        weak_weight: float = 0.3,
        smooth_hours: float = 6.0,  # chosen on the LEAD training months (benchmarks/labels.py)
        min_confirmed: int = 3,
        min_dismissed: int = 2,
        reviewed_only: bool = True,
        ensemble_weight: float = 1.0,  # chosen on the LEAD training months, like smooth_hours
        causal: bool = False,
        random_state: int = 0,
    ) -> None:
        self.reviewed_only = reviewed_only
        self.ensemble_weight = ensemble_weight
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.strong_weight = strong_weight
        self.weak_weight = weak_weight
        self.smooth_hours = smooth_hours
        self.min_confirmed = min_confirmed
        self.min_dismissed = min_dismissed
        self.causal = causal
        self.random_state = random_state

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        labels: pd.Series | None = None,
        progress: Progress | None = None,
    ) -> Self:
        """Learn from ``frame`` and ``labels`` (1 confirmed, 0 dismissed/expected, NaN unknown;
        aligned on the index, readings without a label count as unknown)."""
        self._check_frame(frame, fitting=True)
        y = None if labels is None else labels.reindex(frame.index).astype(float)
        if y is not None and not np.isin(y.dropna().to_numpy(), (0.0, 1.0)).all():
            raise ValueError("labels must be 1 (anomaly), 0 (not an anomaly) or NaN (unknown)")
        self._forget_scores()
        self._fit_labelled(frame, y, progress)
        train = np.asarray(self._score(frame), dtype=float)
        self._remember_scores(frame, train)
        self.calibration_ = _calibration_table(train)
        self.train_start_ = str(frame.index[0])
        self.train_end_ = str(frame.index[-1])
        return self

    def _fit(self, frame: pd.DataFrame, progress: Progress | None = None) -> None:
        self._fit_labelled(frame, None, progress)

    def _fit_labelled(
        self, frame: pd.DataFrame, y: pd.Series | None, progress: Progress | None
    ) -> None:
        self.ensemble_ = EnsembleDetector(causal=self.causal).fit(frame, progress=progress)
        v = frame["value"].to_numpy(dtype=float)
        level = float(np.nanmedian(np.abs(v))) if np.isfinite(v).any() else 1.0
        self.level_ = level if level > 1e-9 else 1.0
        self.columns_ = list(self._features(frame).columns)
        self.confirmed_, self.dismissed_ = label_runs(y)
        self.shortfall_ = label_shortfall(y, self.min_confirmed, self.min_dismissed)
        self.model_ = None
        if self.shortfall_:
            return
        x = self._features(frame)
        labelled = y.to_numpy(dtype=float)
        ok = np.isfinite(v)
        if self.reviewed_only:  # readings after the last label were never looked at by anyone
            ok &= np.arange(len(v)) <= np.flatnonzero(np.isfinite(labelled)).max()
        target = (labelled == 1.0).astype(int)
        weight = np.where(
            labelled == 1.0, 1.0, np.where(labelled == 0.0, self.strong_weight, self.weak_weight)
        )
        # balance the classes: positives weigh as much, in total, as the negatives
        pos = target[ok] == 1
        weight = np.where(target == 1, weight * weight[ok][~pos].sum() / max(pos.sum(), 1), weight)
        model = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=False,
            random_state=self.random_state,
            # more ensemble evidence never lowers the score: the few labelled kinds of anomaly
            # must not teach the model that every other kind is normal
            monotonic_cst=[1 if c == "ensemble" else 0 for c in self.columns_],
        )
        self.model_ = model.fit(x.to_numpy()[ok], target[ok], sample_weight=weight[ok])

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows the model sees (columns ``columns_``), e.g. for SHAP."""
        self._check_fitted()
        return self._features(frame)

    def _features(self, frame: pd.DataFrame) -> pd.DataFrame:
        ens = self.ensemble_.calibrated(frame)
        f = learned_features(frame, ens, self.level_, self.causal)
        if hasattr(self, "columns_"):
            for c in self.columns_:  # a covariate seen in training but absent now: unknown
                if c not in f.columns:
                    f[c] = np.nan
            f = f[self.columns_]
        return f

    def lookback(self, index: pd.DatetimeIndex) -> int:
        week = steps_per(index, pd.Timedelta(hours=max(LAG_HOURS)))
        smooth = int(round(self.smooth_hours * steps_per(index, pd.Timedelta("1h"))))
        return self.ensemble_.lookback(index) + week + smooth if hasattr(self, "ensemble_") else 0

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        missing = frame["value"].isna().to_numpy()
        if self.model_ is None:
            return self.ensemble_.calibrated(frame).to_numpy(dtype=float)
        x = self._features(frame).to_numpy()
        raw = np.full(len(frame), np.nan)
        if (~missing).any():
            raw[~missing] = self.model_.decision_function(x[~missing])  # log-odds: higher = anomaly
        if self.ensemble_weight:  # keep some unsupervised evidence for kinds nobody labelled yet
            raw = raw + self.ensemble_weight * self.ensemble_.calibrated(frame).to_numpy(
                dtype=float
            )
        w = int(round(self.smooth_hours * steps_per(frame.index, pd.Timedelta("1h"))))
        if w > 1:
            rolled = pd.Series(raw).rolling(w, center=not self.causal, min_periods=1).mean()
            raw = np.where(
                missing, np.nan, np.fmax(rolled.to_numpy(), raw) if self.causal else rolled
            )
        return raw
