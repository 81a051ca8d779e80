"""Stateless detection on a series sent in the request, answered the way Azure Anomaly Detector
answered (``schemas.stateless`` documents the fields and how sensitivity maps to the threshold).

The series is laid on its grid and handed to :func:`core.detect.run.run_detection` with the
detector fitted on it (``stored.fitted``: keyed by a digest of the series, so the same series is
fitted once); ``maxAnomalyRatio`` re-runs only
:func:`core.detect.run.detect_events` with a higher threshold.

``last`` judges the newest point as the live engine would have when it arrived: the detector's
causal twin and the reference (week profile, fixed threshold, typing level:
:func:`core.detect.run.learn_reference`) are learned on the series' *settled history*, the whole
days (``refit_period``) between its first point and the start of the newest point's day, and
:func:`core.detect.run.judge_last` scores only the window the newest score reads
(``detector.lookback``), flagging nothing before it. Why not every point but the newest, as
before: a device calling once per reading sends a new history each time, so each call paid a fit
(~0.5-0.8 s for the default ensemble, most of the latency); keyed on the settled history, the fit
and the reference are made once a day per device (kept in memory by digest, the fit also on
disk) and every other call only scores. The points since midnight are judged by a model that has
not seen them, which is what a model fitted on the settled history and replayed (``core.live``)
does too. The price, measured on 576 last points of the four labelled LEAD buildings (24 days,
193 anomalous hours; docs/benchmarks.md): the flags agree with a fit on every point but the
newest on 92 % of them, F1 0.756 against 0.771 (precision 0.77 / 0.82, recall 0.75 / 0.73). A
series with fewer than the detector's minimum readings in whole days learns from every point but
the newest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.api import limits
from core.api.problems import ApiError, FieldError
from core.api.schemas.common import iso, number
from core.api.schemas.stateless import SeriesRequest
from core.api.stored import fitted, fitting_turn, gridded, readings_digest
from core.detect.detectors import REGISTRY
from core.detect.pipeline import DetectorSettings, causal_settings
from core.detect.run import Detection, detect_events, judge_last, learn_reference, run_detection
from core.detect.thresholds import DEFAULT_K, ThresholdSettings
from core.errors import DataError
from core.ingest.timestamps import apply_tz, parse_iso_texts, parse_timestamps
from core.store.memory import BoundedLRU

GRANULARITY = {
    "secondly": pd.Timedelta(seconds=1),
    "minutely": pd.Timedelta(minutes=1),
    "hourly": pd.Timedelta(hours=1),
    "daily": pd.Timedelta(days=1),
    "weekly": pd.Timedelta(days=7),
}
DEFAULT_SENSITIVITY = 95
# ``last`` learns once per period: a device calling every reading reuses one fit (and reference) a
# day, and a retried request reuses it too; 24 steps at least, so a daily series refits monthly.
REFIT_PERIOD = pd.Timedelta(days=1)
REFIT_STEPS = 24
# references learned for ``last`` by (history digest, detector, threshold): one scoring each
_references = BoundedLRU(4 * limits.MODELS_IN_MEMORY)


def sensitivity_k(sensitivity: int) -> float:
    """The sigma threshold of a sensitivity (0-99): ``DEFAULT_K`` at 95, 0.1 sigma per point."""
    return round(DEFAULT_K + (DEFAULT_SENSITIVITY - sensitivity) / 10, 6)


def _bad(field: str, message: str) -> ApiError:
    return ApiError(422, f"{field}: {message}", errors=[FieldError(field=field, message=message)])


def series_frame(req: SeriesRequest) -> tuple[pd.DataFrame, np.ndarray, pd.Timedelta]:
    """The series on its grid, where each point sits in it, and the step."""
    n = len(req.series)
    if n < limits.MIN_POINTS:
        raise _bad("series", f"has {n} points; detection needs at least {limits.MIN_POINTS}.")
    if n > limits.MAX_SERIES:
        raise _bad(
            "series",
            f"has {n:,} points, over the {limits.MAX_SERIES:,} one request may carry "
            "(WATTSUP_API_MAX_SERIES): send a shorter period.",
        )
    if req.granularity in ("monthly", "yearly"):
        raise _bad(
            "granularity",
            f"{req.granularity} steps differ in length; WattsUp detects on fixed steps: "
            "send daily (or finer) readings.",
        )
    texts = [p.timestamp for p in req.series]
    parsed = parse_iso_texts(texts) or parse_timestamps(pd.Series(texts, dtype=object))
    times = parsed.values
    if req.timezone is not None:
        times = _in_zone(times, req.timezone)
    for i in np.flatnonzero(np.asarray(times.isna())):
        raise _bad(
            f"series[{i}].timestamp",
            f"{req.series[i].timestamp!r} is not a time: send ISO 8601 like 2024-01-01T00:00:00Z.",
        )
    ns = times.as_unit("ns").asi8
    for i in np.flatnonzero(np.diff(ns) <= 0):
        raise _bad(
            f"series[{i + 1}].timestamp",
            f"{req.series[i + 1].timestamp!r} is not after the point before it: sort the series "
            "by time, one point per time.",
        )
    step = None
    if req.granularity != "none":
        step = GRANULARITY[req.granularity] * req.customInterval
        for i in np.flatnonzero((ns - ns[0]) % step.value != 0):
            raise _bad(
                f"series[{i}].timestamp",
                f"{req.series[i].timestamp!r} is not on the {req.customInterval} x "
                f"{req.granularity} grid that starts at the first point: fix the time or the "
                "granularity.",
            )
    values = np.array([p.value for p in req.series], dtype=float)
    frame = pd.DataFrame({"value": values}, index=times.as_unit("ns").rename("timestamp"))
    frame, step = gridded(frame, step, "the series")
    positions = frame.index.get_indexer(times)
    return frame, positions, step


def _in_zone(times: pd.DatetimeIndex, zone: str) -> pd.DatetimeIndex:
    try:
        return apply_tz(times, zone, [])
    except DataError as err:
        raise _bad("timezone", str(err)) from None


def _settings(req: SeriesRequest, *, last: bool) -> tuple[DetectorSettings, ThresholdSettings]:
    settings = DetectorSettings(req.detector)
    return (causal_settings(settings) if last else settings), ThresholdSettings(
        mode="sigma", k=sensitivity_k(req.sensitivity)
    )


def _capped(det: Detection, req: SeriesRequest, step: pd.Timedelta) -> Detection:
    """At most ``maxAnomalyRatio`` of the points flagged: the threshold rises to that quantile."""
    valid = int(np.isfinite(det.scored["score"].to_numpy(dtype=float)).sum())
    if det.n_flagged <= req.maxAnomalyRatio * valid:
        return det
    ratio = ThresholdSettings(mode="percentile", percentile=100 * (1 - req.maxAnomalyRatio))
    return detect_events(det.scored, ratio, freq=step, unit=req.unit)


def detect_entire(req: SeriesRequest) -> dict:
    """Every point of the series judged (``EntireOut``)."""
    frame, at, step = series_frame(req)
    settings, threshold = _settings(req, last=False)
    with fitting_turn():
        try:
            det = run_detection(
                frame,
                settings,
                threshold,
                freq=step,
                unit=req.unit,
                detector=fitted(frame, readings_digest("series", frame), settings),
            )
        except ValueError as err:
            raise DataError(f"{req.detector} cannot learn from this series: {err}") from err
    det = _capped(det, req, step)
    cols = _point_columns(det)
    return {
        "period": req.period or 0,
        "threshold": threshold.k,
        **{key: [values[i] for i in at] for key, values in cols.items()},
        "events": events_out(det.events),
    }


def settled_history(frame: pd.DataFrame, step: pd.Timedelta, min_points: int) -> pd.DataFrame:
    """The readings ``last`` learns from: the whole refit periods (``refit_period``) between the
    series' first reading and the start of the period of its newest one; every reading before the
    newest when those are fewer than ``min_points`` (a series of a day or two)."""
    period = refit_period(step).value
    ns = frame.index.as_unit("ns").asi8  # UTC for a zoned series: periods start at UTC midnight
    anchor = int(ns[-1]) - int(ns[-1]) % period
    start = anchor - (anchor - int(ns[0])) // period * period
    settled = frame[(ns >= start) & (ns < anchor)]
    if int(settled["value"].notna().sum()) < min_points:
        return frame.iloc[:-1]
    return settled


def refit_period(step: pd.Timedelta) -> pd.Timedelta:
    """How often ``last`` learns again: daily, or every ``REFIT_STEPS`` steps of a longer step."""
    return max(REFIT_PERIOD, REFIT_STEPS * step)


def detect_last(req: SeriesRequest) -> dict:
    """The last point judged after the history it is learned from (``LastOut``; see the module
    docstring). All of it runs in one turn (``fitting_turn``): its parsing and scoring are
    CPU-bound Python, and calls sharing a process's interpreter at once only slow each other."""
    with fitting_turn():
        frame, _, step = series_frame(req)
        settings, threshold = _settings(req, last=True)
        minimum = max(limits.MIN_POINTS, REGISTRY[settings.detector].min_points)
        history = settled_history(frame, step, minimum)
        digest = readings_digest("history", history)
        try:
            detector = fitted(history, digest, settings)
            reference = _references.get_or_make(
                (digest, settings, threshold),
                lambda: learn_reference(detector, history, threshold),
            )
            det = judge_last(frame, detector, reference, threshold, freq=step, unit=req.unit)
        except ValueError as err:
            raise DataError(f"{req.detector} cannot learn from this series: {err}") from err
        cols = _point_columns(det)
        events = events_out(det.events)
    return {
        "period": req.period or 0,
        "threshold": threshold.k,
        "suggestedWindow": len(history),
        **{key[:-1] if key.endswith("s") else key: values[-1] for key, values in cols.items()},
        "events": events,
    }


def _point_columns(det: Detection) -> dict[str, list]:
    scored = det.scored
    expected = scored["expected"].to_numpy(dtype=float)
    upper = scored["upper"].to_numpy(dtype=float) - expected
    lower = expected - scored["lower"].to_numpy(dtype=float)
    flags = det.flags.to_numpy(dtype=bool)
    deviation = scored["deviation"].to_numpy(dtype=float)
    return {
        "expectedValues": [number(x) for x in expected],
        "upperMargins": [number(x) for x in upper],
        "lowerMargins": [number(x) for x in lower],
        "isAnomaly": flags.tolist(),
        "isPositiveAnomaly": (flags & (deviation > 0)).tolist(),
        "isNegativeAnomaly": (flags & (deviation < 0)).tolist(),
    }


def events_out(events: pd.DataFrame) -> list[dict]:
    """``find_events`` rows as JSON (``SeriesEvent``)."""
    if events.empty:
        return []
    return [
        {
            "start": iso(e.start),
            "end": iso(e.end),
            "duration_h": number(e.duration_h),
            "type": str(e.type),
            "peak_score": number(e.peak_score),
            "mean_score": number(e.mean_score),
            "excess": number(e.excess),
            "cause": None if pd.isna(e.cause) else str(e.cause),
        }
        for e in events.itertuples(index=False)
    ]
