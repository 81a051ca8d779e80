"""Scores -> flags, without refitting anything.

Every mode reads only the scored frame (``core.detect.pipeline.score_frame``): ``score`` (calibrated,
sigma-equivalent), ``deviation`` (value - expected) and ``expected``. Moving a slider re-runs this module
and nothing before it.

Modes
-----
``sigma``
    flag ``score > k``; on the calibrated scale about 1 % of training points lie above 2.33.
``percentile``
    flag scores above the given percentile of this frame's scores (contamination = 100 - percentile).
``dynamic``
    the non-parametric dynamic threshold of Hundman et al. 2018 ("Detecting spacecraft anomalies using
    LSTMs and nonparametric dynamic thresholding", the NASA telemanom method) on EWMA-smoothed scores,
    with its pruning step. ``threshold_value`` returns the per-point epsilon, which applies to the
    *smoothed* score.
``per_month``
    per calendar month, the lowest threshold that keeps the number of *events* (runs of consecutive
    flagged points) at or below ``alerts_per_month``; scanning down from the top, it stops before the
    first threshold that would exceed the budget.

Thresholds learned from a reference period
------------------------------------------
Live detection (and its offline twin, ``run_detection(..., warmup=N)``) cannot see the future, so a mode
that needs history is resolved once from the warm-up's scores by :func:`resolve_threshold`, with the
same functions the modes above use, into a :class:`FixedThreshold`:

``sigma``       ``k`` (nothing to learn)
``percentile``  the percentile of the warm-up's scores
``per_month``   the lowest threshold with at most ``alerts_per_month`` x (warm-up months) events in the
                warm-up (``_budget_threshold``)
``dynamic``     the telemanom epsilon of the warm-up's last window, on the EWMA-smoothed score (the
                pruning step ranks every sequence of a finished series, so it is left out here)

After the mode, ``direction`` keeps only over-use (``deviation > 0``) or under-use (``< 0``), and the
min-deviation rules drop flags whose ``|deviation|`` is below ``min_deviation`` (data unit) or below
``min_deviation_pct`` % of ``|expected|``. A reading that is what was expected (``|deviation|`` at most
``SAME_AS_EXPECTED`` x ``|expected|``, so exactly equal when nothing is expected) never flags, whatever
its score: there is nothing to show or explain (a noise-free or constant series otherwise got "dip"
events of 0 kWh, "1.0x the usual load"). NaN scores never flag. With a ``country`` and
``holidays_normal``, readings on that country's public holidays never flag (``core.detect.holidays``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from core.detect.holidays import check_country, holiday_mask


def _default_k() -> float:
    """The detectors' default threshold (``DEFAULT_K`` in the package or its ensemble), else 3.0."""
    try:
        import core.detect.detectors as detectors
    except ImportError:  # pragma: no cover - the package is part of the app
        return 3.0
    for module in (detectors, getattr(detectors, "ensemble", None), detectors.base):
        k = getattr(module, "DEFAULT_K", None)
        if k is not None:
            return float(k)
    return 3.0


DEFAULT_K = _default_k()

Mode = Literal["sigma", "percentile", "dynamic", "per_month"]
Direction = Literal["both", "over", "under"]
MODES: tuple[str, ...] = ("sigma", "percentile", "dynamic", "per_month")
DIRECTIONS: tuple[str, ...] = ("both", "over", "under")
SAME_AS_EXPECTED = 1e-9  # relative: float rounding, not a real difference

# Dynamic threshold constants. Telemanom re-thresholds every batch of 70 errors over a window of 30
# batches, tries z in 2.5..12 by 0.5 and smooths with a span of 5 % of the window. Its |E_seq|^2
# penalty favours one sequence per window, so on meter data (several anomalies a month) a 2,100-point
# window hid all but the largest; 5 batches (350 points, about two weeks of hourly data) keeps
# neighbouring anomalies apart and stayed silent on pure noise. Meter anomalies often last one to six
# hours, so a short smoothing span keeps a one-hour spike visible.
_DYN_BATCH = 70
_DYN_WINDOW = 5 * _DYN_BATCH
_DYN_Z = np.arange(2.5, 12.0, 0.5)
_DYN_SPAN = 3
_DYN_PRUNE = 0.13  # telemanom's minimum percent decrease between ranked sequence maxima


@dataclass(frozen=True)
class ThresholdSettings:
    """How scores become flags. Frozen, so it can key a cache."""

    mode: Mode = "sigma"
    k: float = DEFAULT_K
    percentile: float = 99.0
    alerts_per_month: int = 10
    direction: Direction = "both"
    min_deviation: float = 0.0
    min_deviation_pct: float = 0.0
    country: str | None = None  # public holidays of this country become ``holiday`` events
    holidays_normal: bool = False  # ... or count as normal: no flag on a holiday

    def __post_init__(self) -> None:
        object.__setattr__(self, "country", check_country(self.country))
        if self.mode not in MODES:
            raise ValueError(f"threshold mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"direction must be one of {', '.join(DIRECTIONS)}, got {self.direction!r}"
            )
        if not 0.0 < self.percentile < 100.0:
            raise ValueError(f"percentile must be between 0 and 100, got {self.percentile}")
        if self.alerts_per_month < 0:
            raise ValueError(f"alerts_per_month must be 0 or more, got {self.alerts_per_month}")
        if self.min_deviation < 0 or self.min_deviation_pct < 0:
            raise ValueError("min_deviation and min_deviation_pct must be 0 or more")


@dataclass(frozen=True)
class FixedThreshold:
    """A threshold learned from a reference period: ``value`` applies to the score, or to the
    EWMA-smoothed score when ``smoothed`` (dynamic mode)."""

    value: float
    smoothed: bool = False


MONTH = pd.Timedelta(days=365.25 / 12)


def resolve_threshold(reference: pd.DataFrame, settings: ThresholdSettings) -> FixedThreshold:
    """The fixed threshold that ``settings`` give on the scored ``reference`` period (see above)."""
    score = _scores(reference)
    finite = score[np.isfinite(score)]
    if settings.mode == "sigma":
        return FixedThreshold(float(settings.k))
    if finite.size == 0:
        return FixedThreshold(np.inf, smoothed=settings.mode == "dynamic")
    if settings.mode == "percentile":
        return FixedThreshold(float(np.percentile(finite, settings.percentile)))
    if settings.mode == "per_month":
        span = reference.index[-1] - reference.index[0] + _step(reference.index)
        budget = int(round(settings.alerts_per_month * max(span / MONTH, 1 / 31)))
        return FixedThreshold(_budget_threshold(score, budget))
    return FixedThreshold(float(_dynamic_epsilon(_smoothed(score))[-1]), smoothed=True)


def _step(index: pd.Index) -> pd.Timedelta:
    return pd.Timedelta(index[1] - index[0]) if len(index) > 1 else pd.Timedelta(0)


def threshold_value(
    scored: pd.DataFrame, settings: ThresholdSettings, *, fixed: FixedThreshold | None = None
) -> float | pd.Series:
    """The threshold the mode applies to ``scored['score']``.

    A float for ``sigma`` and ``percentile`` (and whenever ``fixed`` is given); a per-point Series for
    ``per_month`` (one value per calendar month) and ``dynamic`` (epsilon on the EWMA-smoothed score).
    """
    if fixed is not None:
        return fixed.value
    score = _scores(scored)
    if settings.mode == "sigma":
        return float(settings.k)
    if settings.mode == "percentile":
        finite = score[np.isfinite(score)]
        return float(np.percentile(finite, settings.percentile)) if finite.size else np.inf
    if settings.mode == "per_month":
        values = _per_month_threshold(score, scored.index, settings.alerts_per_month)
    else:
        values = _dynamic_epsilon(_smoothed(score))
    return pd.Series(values, index=scored.index, name="threshold")


def flag_points(
    scored: pd.DataFrame, settings: ThresholdSettings, *, fixed: FixedThreshold | None = None
) -> pd.Series:
    """Boolean flags aligned to ``scored.index``: the mode, then direction and min-deviation rules.

    With ``fixed`` (from :func:`resolve_threshold` on a warm-up) the mode's threshold is that value,
    so no reading's flag depends on a later one.
    """
    score = _scores(scored)
    if fixed is not None:
        judged = _smoothed(score) if fixed.smoothed else score
        with np.errstate(invalid="ignore"):
            flags = judged > fixed.value
    elif settings.mode == "dynamic":
        smooth = _smoothed(score)
        flags = smooth > _dynamic_epsilon(smooth)
        flags = _prune(flags, smooth)
    else:
        thr = threshold_value(scored, settings)
        thr = thr.to_numpy() if isinstance(thr, pd.Series) else thr
        with np.errstate(invalid="ignore"):
            flags = score > thr
    flags &= np.isfinite(score)
    flags &= _deviation_mask(scored, settings)
    flags &= ~_as_expected(scored)
    if settings.holidays_normal and settings.country:
        flags &= ~holiday_mask(scored.index, settings.country)
    return pd.Series(flags, index=scored.index, name="flag")


# ---- helpers ------------------------------------------------------------------------------------
def _scores(scored: pd.DataFrame) -> np.ndarray:
    if "score" not in scored.columns:
        raise ValueError("expected a scored frame with a 'score' column (see core.detect.pipeline)")
    return scored["score"].to_numpy(dtype=float)


def _as_expected(scored: pd.DataFrame) -> np.ndarray:
    """Readings that are what was expected, to rounding (see the module docstring)."""
    if "deviation" not in scored.columns or "expected" not in scored.columns:
        return np.zeros(len(scored), dtype=bool)
    dev = np.abs(scored["deviation"].to_numpy(dtype=float))
    exp = np.abs(scored["expected"].to_numpy(dtype=float))
    with np.errstate(invalid="ignore"):
        return dev <= SAME_AS_EXPECTED * exp  # NaN on either side: False, the flag stands


def _deviation_mask(scored: pd.DataFrame, settings: ThresholdSettings) -> np.ndarray:
    keep = np.ones(len(scored), dtype=bool)
    rules = settings.direction != "both" or settings.min_deviation > 0
    if not rules and settings.min_deviation_pct <= 0:
        return keep
    if "deviation" not in scored.columns:
        raise ValueError("direction and min-deviation rules need a 'deviation' column")
    dev = scored["deviation"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        if settings.direction == "over":
            keep &= dev > 0
        elif settings.direction == "under":
            keep &= dev < 0
        if settings.min_deviation > 0:
            keep &= np.abs(dev) >= settings.min_deviation
        if settings.min_deviation_pct > 0:
            if "expected" not in scored.columns:
                raise ValueError("min_deviation_pct needs an 'expected' column")
            exp = np.abs(scored["expected"].to_numpy(dtype=float))
            keep &= np.abs(dev) >= exp * settings.min_deviation_pct / 100.0
    return keep


def _runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) positions of each run of True."""
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.diff(padded)
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _per_month_threshold(score: np.ndarray, index: pd.Index, budget: int) -> np.ndarray:
    """Per month, the lowest score threshold with at most ``budget`` runs of ``score > t``."""
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError("per_month thresholds need a DatetimeIndex")
    month = np.asarray(index.year * 12 + index.month)
    out = np.full(len(score), np.inf)
    bounds = np.flatnonzero(np.diff(month)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(score)], strict=True):
        out[lo:hi] = _budget_threshold(score[lo:hi], budget)
    return out


def _budget_threshold(s: np.ndarray, budget: int) -> float:
    s = np.where(np.isfinite(s), s, -np.inf)  # NaN breaks a run and never flags
    cand = np.unique(s[np.isfinite(s)])[::-1]  # descending; flags are s > candidate
    if cand.size == 0:
        return np.inf
    # runs above t = #(s > t) - #(min(s_i, s_i-1) > t): a run starts where a point is above t but
    # its predecessor is not.
    pair = np.minimum(s[1:], s[:-1])
    above = s.size - np.searchsorted(np.sort(s), cand, side="right")
    joined = pair.size - np.searchsorted(np.sort(pair), cand, side="right")
    runs = above - joined
    over = np.flatnonzero(runs > budget)
    if over.size == 0:
        return float(cand[-1])
    first = over[0]
    return float(cand[first - 1]) if first > 0 else np.inf


def _smoothed(score: np.ndarray) -> np.ndarray:
    """EWMA of the non-negative part of the score (telemanom smooths absolute errors)."""
    err = np.where(np.isfinite(score), np.maximum(score, 0.0), 0.0)
    return pd.Series(err).ewm(span=_DYN_SPAN, adjust=False).mean().to_numpy()


def _dynamic_epsilon(e_s: np.ndarray) -> np.ndarray:
    """Per-point epsilon: for each batch of 70 points, the telemanom epsilon of its trailing window.

    Every (window, z) pair is scored at once. Each window is sorted once; counts and sums below a
    candidate come from one ``searchsorted`` over all rows (rows are shifted apart so the flattened
    array stays sorted) and prefix sums. The number of sequences above a candidate is the number of
    points above it minus the number of adjacent pairs whose smaller value is above it.
    """
    n = e_s.size
    if n == 0:
        return np.empty(0)
    width = min(_DYN_WINDOW, n)
    ends = np.minimum(np.arange(_DYN_BATCH, n + _DYN_BATCH, _DYN_BATCH), n)
    padded = np.concatenate((np.full(width - 1, -1.0), e_s))  # -1 marks "before the start"
    win = sliding_window_view(padded, width)[ends - 1]  # (batches, width)
    n_pad = np.maximum(width - ends, 0)
    count = width - n_pad
    vals = np.maximum(win, 0.0)
    mean = vals.sum(axis=1) / count
    std = np.sqrt(np.maximum((vals**2).sum(axis=1) / count - mean**2, 0.0))
    eps = mean[:, None] + _DYN_Z[None, :] * std[:, None]  # (batches, z)

    n_above = _count_above(win, eps)
    n_seq = n_above - _count_above(np.minimum(win[:, 1:], win[:, :-1]), eps)
    srt = np.sort(vals, axis=1)
    n_below = count[:, None] - n_above  # padding sorts first and adds zeros to the sums below
    pos = n_pad[:, None] + n_below
    cs = np.concatenate((np.zeros((len(ends), 1)), np.cumsum(srt, axis=1)), axis=1)
    cs2 = np.concatenate((np.zeros((len(ends), 1)), np.cumsum(srt**2, axis=1)), axis=1)
    rows = np.arange(len(ends))[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_b = cs[rows, pos] / n_below
        std_b = np.sqrt(np.maximum(cs2[rows, pos] / n_below - mean_b**2, 0.0))
        d_mean = (mean[:, None] - mean_b) / mean[:, None]
        d_std = (std[:, None] - std_b) / std[:, None]
        gain = (d_mean + d_std) / (n_above + n_seq**2)
    ok = (n_above > 0) & (n_above < 0.5 * count[:, None]) & np.isfinite(gain)
    gain = np.where(ok, gain, -np.inf)
    chosen = eps[np.arange(len(ends)), gain.argmax(axis=1)]
    # telemanom starts from the largest z and keeps it when no candidate scores
    chosen = np.where(ok.any(axis=1), chosen, eps[:, -1])
    return np.repeat(chosen, np.diff(np.r_[0, ends]))


def _count_above(rows: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """``(rows[r] > eps[r, j]).sum()`` for every r, j, in one searchsorted."""
    top = max(float(rows.max()), float(eps[np.isfinite(eps)].max(initial=0.0))) + 2.0
    shift = (
        np.arange(rows.shape[0])[:, None] * top
    )  # rows stay >= -1, so shifted rows never overlap
    flat = (np.sort(rows, axis=1) + shift).ravel()
    pos = np.searchsorted(flat, eps + shift, side="right") - shift / top * rows.shape[1]
    return rows.shape[1] - pos.astype(int)


def _prune(flags: np.ndarray, e_s: np.ndarray) -> np.ndarray:
    """Telemanom pruning: drop sequences whose peak is within 13 % of the next lower peak.

    Sequence peaks are ranked, the largest unflagged smoothed value is appended, and the ranking is cut
    after the last step that falls by more than ``_DYN_PRUNE``.
    """
    starts, stops = _runs(flags)
    if starts.size == 0:
        return flags
    edges = np.column_stack((starts, stops)).ravel()
    edges = edges[edges < e_s.size]
    peaks = np.maximum.reduceat(e_s, edges)[::2]  # even slices are the runs, odd ones the gaps
    rest = e_s[~flags]
    order = np.argsort(-peaks)
    ranked = np.r_[peaks[order], rest.max() if rest.size else 0.0]
    with np.errstate(invalid="ignore", divide="ignore"):
        drop = (ranked[:-1] - ranked[1:]) / ranked[:-1]
    big = np.flatnonzero(drop > _DYN_PRUNE)
    keep_rank = big[-1] + 1 if big.size else 0
    keep_run = np.zeros(starts.size, dtype=bool)
    keep_run[order[:keep_rank]] = True
    run_id = np.cumsum(np.isin(np.arange(flags.size), starts)) - 1
    return flags & keep_run[np.maximum(run_id, 0)]
