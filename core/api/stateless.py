"""Stateless detection on a series sent in the request, answered the way Azure Anomaly Detector
answered (``schemas.stateless`` documents the fields and how sensitivity maps to the threshold).

The series is laid on its grid and handed to :func:`core.detect.run.run_detection` with the
detector fitted on it (``stored.fitted``: keyed by a digest of the series, so the same series is
fitted once); ``maxAnomalyRatio`` re-runs only
:func:`core.detect.run.detect_events` with a higher threshold. ``last`` fits the detector's causal
twin on every point but the last and judges the last one after them (``warmup=n - 1``), as the live
engine would have when it arrived.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.api import limits
from core.api.problems import ApiError, FieldError
from core.api.schemas.common import iso, number
from core.api.schemas.stateless import SeriesRequest
from core.api.stored import fitted, fitting_turn, gridded, readings_digest
from core.detect.pipeline import DetectorSettings, causal_settings
from core.detect.run import Detection, detect_events, run_detection
from core.detect.thresholds import DEFAULT_K, ThresholdSettings
from core.errors import DataError
from core.ingest.timestamps import apply_tz, parse_timestamps

GRANULARITY = {
    "secondly": pd.Timedelta(seconds=1),
    "minutely": pd.Timedelta(minutes=1),
    "hourly": pd.Timedelta(hours=1),
    "daily": pd.Timedelta(days=1),
    "weekly": pd.Timedelta(days=7),
}
DEFAULT_SENSITIVITY = 95


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
    times = parse_timestamps(pd.Series([p.timestamp for p in req.series], dtype=object)).values
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


def detect_last(req: SeriesRequest) -> dict:
    """The last point judged after the others (``LastOut``)."""
    frame, at, step = series_frame(req)
    settings, threshold = _settings(req, last=True)
    history = frame.iloc[:-1]
    with fitting_turn():
        try:
            detector = fitted(history, readings_digest("history", history), settings)
            det = run_detection(
                frame,
                settings,
                threshold,
                freq=step,
                unit=req.unit,
                detector=detector,
                warmup=len(history),
            )
        except ValueError as err:
            raise DataError(f"{req.detector} cannot learn from this series: {err}") from err
    cols = _point_columns(det)
    last = int(at[-1])
    return {
        "period": req.period or 0,
        "threshold": threshold.k,
        "suggestedWindow": len(history),
        **{key[:-1] if key.endswith("s") else key: values[last] for key, values in cols.items()},
        "events": events_out(det.events),
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
    return [
        {
            "start": iso(e.start),
            "end": iso(e.end),
            "duration_h": number(e.duration_h),
            "type": str(e.type),
            "peak_score": number(e.peak_score),
            "excess": number(e.excess),
            "cause": None if pd.isna(e.cause) else str(e.cause),
        }
        for e in events.itertuples(index=False)
    ]
