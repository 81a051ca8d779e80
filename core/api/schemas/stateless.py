"""Stateless detection, shaped like Azure Anomaly Detector's ``timeseries/entire`` and ``/last``.

Request (``SeriesRequest``, Azure's names): ``series`` (``[{timestamp, value}]`` in time order, one
point per time, at least 48), ``granularity`` (secondly | minutely | hourly | daily | weekly |
none = inferred from the series; monthly and yearly are refused: their steps are not one length),
``customInterval`` (steps of that granularity between points, default 1), ``period`` (accepted and
echoed: the week profile finds daily and weekly cycles itself), ``sensitivity`` (0-99, default 95)
and ``maxAnomalyRatio`` (at most this share of the points is flagged, default 0.25). WattsUp's own
fields: ``detector`` (default ensemble), ``unit`` (for the events' energy, default kWh),
``timezone`` (read the times there: the week profile is local time). Fields Azure has that WattsUp
does not use (``imputeMode``, ...) are ignored.

Sensitivity -> threshold: sigma mode with ``k = DEFAULT_K + (95 - sensitivity) / 10`` on the
calibrated (sigma-equivalent) score, so the default 95 is WattsUp's default k (2.0), 99 flags
above 1.6 sigma and 0 above 11.5; every point of sensitivity moves k by 0.1 sigma. When more than
``maxAnomalyRatio`` of the points pass it, the threshold rises to the ``1 - maxAnomalyRatio``
quantile of the scores (percentile mode). ``/last`` judges the last point after the whole days
before its own, as a live stream would (the causal twin of the detector, learned on those days:
``core.api.stateless``).

``EntireOut``: ``period``, ``threshold`` (the k used), per point ``expectedValues``,
``upperMargins`` / ``lowerMargins`` (the detector's expected band: ``upper - expected`` and
``expected - lower``; null where undefined), ``isAnomaly``, ``isPositiveAnomaly`` (above
expected), ``isNegativeAnomaly`` (below), and ``events`` (``SeriesEvent``: ``start, end,
duration_h, type, peak_score, mean_score, excess, cause``). ``LastOut``: the same for the last point, singular
names (``expectedValue``, ``upperMargin``, ...), plus ``suggestedWindow`` (points of history the
model learned from).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.api.schemas.common import Reading, RequestBody
from core.api.schemas.detection import DetectorName
from core.api.schemas.meters import Unit


class Point(RequestBody):
    model_config = ConfigDict(extra="ignore")

    timestamp: str = Field(max_length=64, description="ISO 8601, e.g. 2024-01-01T00:00:00Z")
    value: Reading


def _example_series(n: int = 3) -> list[dict]:
    return [{"timestamp": f"2024-01-01T{h:02d}:00:00Z", "value": 40.0 + h} for h in range(n)]


class SeriesRequest(RequestBody):
    """A whole series to judge (Azure Anomaly Detector's request body)."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "series": _example_series(),
                    "granularity": "hourly",
                    "sensitivity": 95,
                    "maxAnomalyRatio": 0.25,
                }
            ]
        },
    )

    series: list[Point] = Field(min_length=1, description="points in time order, at least 48")
    granularity: Literal[
        "secondly", "minutely", "hourly", "daily", "weekly", "monthly", "yearly", "none"
    ] = "none"
    customInterval: int = Field(1, ge=1, le=10_000)
    period: int | None = Field(None, ge=0, le=100_000, description="accepted and echoed")
    sensitivity: int = Field(95, ge=0, le=99, description="higher flags more")
    maxAnomalyRatio: float = Field(0.25, gt=0, le=0.5)
    detector: DetectorName = "ensemble"
    unit: Unit = "kWh"
    timezone: str | None = Field(None, max_length=64, description="IANA zone to read times in")


class SeriesEvent(BaseModel):
    start: str
    end: str
    duration_h: float | None
    type: str
    peak_score: float | None
    mean_score: float | None = Field(
        default=None, description="mean calibrated score of the event's flagged points"
    )
    excess: float | None
    cause: str | None


_EVENTS = [
    {
        "start": "2024-01-09T13:00:00+00:00",
        "end": "2024-01-09T13:00:00+00:00",
        "duration_h": 1.0,
        "type": "spike",
        "peak_score": 5.2,
        "mean_score": 5.2,
        "excess": 61.0,
        "cause": "Tuesday 13:00: 2.4x the usual afternoon load for this weekday",
    }
]


class EntireOut(BaseModel):
    """Every point judged (Azure's ``entire`` answer, plus WattsUp's events)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": 0,
                    "threshold": 2.0,
                    "expectedValues": [40.1, 41.0, 41.8],
                    "upperMargins": [3.1, 3.0, 3.2],
                    "lowerMargins": [3.1, 3.0, 3.2],
                    "isAnomaly": [False, False, True],
                    "isPositiveAnomaly": [False, False, True],
                    "isNegativeAnomaly": [False, False, False],
                    "events": _EVENTS,
                }
            ]
        }
    )

    period: int
    threshold: float = Field(description="the sigma threshold k the sensitivity gave")
    expectedValues: list[float | None]
    upperMargins: list[float | None]
    lowerMargins: list[float | None]
    isAnomaly: list[bool]
    isPositiveAnomaly: list[bool]
    isNegativeAnomaly: list[bool]
    events: list[SeriesEvent]


class LastOut(BaseModel):
    """The last point judged after the others (Azure's ``last`` answer, plus WattsUp's events)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": 0,
                    "threshold": 2.0,
                    "suggestedWindow": 47,
                    "expectedValue": 41.8,
                    "upperMargin": 3.2,
                    "lowerMargin": 3.2,
                    "isAnomaly": True,
                    "isPositiveAnomaly": True,
                    "isNegativeAnomaly": False,
                    "events": _EVENTS,
                }
            ]
        }
    )

    period: int
    threshold: float
    suggestedWindow: int = Field(description="points of history the last one was judged after")
    expectedValue: float | None
    upperMargin: float | None
    lowerMargin: float | None
    isAnomaly: bool
    isPositiveAnomaly: bool
    isNegativeAnomaly: bool
    events: list[SeriesEvent]
