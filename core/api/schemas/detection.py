"""Detection on a stored meter: the request, the recorded run and its events.

``ThresholdIn``: the fields of :class:`core.detect.thresholds.ThresholdSettings` with the same
defaults (its docstring has the table of modes): ``mode`` (sigma | percentile | dynamic |
per_month), ``k`` (sigma: flag calibrated scores above it), ``percentile``, ``alerts_per_month``,
``direction`` (both | over | under), ``min_deviation`` (data unit), ``min_deviation_pct``,
``country`` (ISO code: public holidays become ``holiday`` events), ``holidays_normal``.

``DetectRequest``: ``detector`` (a name of ``core.detect.detectors.REGISTRY``), ``threshold``,
``start`` / ``end`` (the span of stored readings to look at; default all), ``warmup`` (detect as
a live stream would after this many readings).

``RunOut`` (a recorded run): ``id``, ``meter``, ``detector``, ``threshold`` (the settings used),
``model_id`` (the model registry's entry, null when not registered), ``data_from`` / ``data_to``,
``points``, ``flagged``, ``events`` (count), ``energy_unit``, ``created``.

``EventOut``: ``id`` (label it with ``POST /v1/events/{id}/label``), ``run_id``, ``start``,
``end``, ``type`` (spike, dip, drop_to_zero, flat, level_shift, off_hours, holiday), ``peak_score``
(calibrated, sigma-like) and ``mean_score`` (the mean over its flagged readings; null for runs
recorded before it was kept), ``excess`` (energy above (+) or below (-) the expected, in the run's
``energy_unit``), ``cause`` (one sentence).

``DetectionOut``: ``run``, ``summary`` (``points, flagged, events, by_type, excess,
energy_unit``: ``Detection.summary()``), ``events``. ``EventsOut``: a ``run`` and
its ``events``. ``RunsOut``: ``meter`` and its ``runs``, newest first.

"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.api.schemas.common import RequestBody, Time
from core.detect.detectors import REGISTRY
from core.detect.thresholds import DEFAULT_K, ThresholdSettings

_T = ThresholdSettings()
# the registry's own list, so a new detector needs no edit here
DetectorName = Literal[tuple(sorted(REGISTRY))]  # type: ignore[valid-type]


class ThresholdIn(RequestBody):
    """How calibrated scores become flags (``ThresholdSettings``)."""

    mode: Literal["sigma", "percentile", "dynamic", "per_month"] = _T.mode
    k: float = Field(DEFAULT_K, gt=0, le=100, description="sigma mode: flag scores above k")
    percentile: float = Field(_T.percentile, gt=0, lt=100)
    alerts_per_month: int = Field(_T.alerts_per_month, ge=0, le=10_000)
    direction: Literal["both", "over", "under"] = _T.direction
    min_deviation: float = Field(0.0, ge=0, description="ignore |actual - expected| below this")
    min_deviation_pct: float = Field(0.0, ge=0, le=1_000)
    country: str | None = Field(None, min_length=2, max_length=3, description="e.g. NL, US")
    holidays_normal: bool = False

    def settings(self) -> ThresholdSettings:
        """The frozen settings (a DataError names a bad country)."""
        return ThresholdSettings(**self.model_dump())


class DetectRequest(RequestBody):
    """Detect anomalies in a meter's stored readings."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detector": "ensemble",
                    "threshold": {"mode": "sigma", "k": 2.5, "direction": "over"},
                    "start": "2024-01-01T00:00:00+01:00",
                }
            ]
        }
    )

    detector: DetectorName = "ensemble"
    threshold: ThresholdIn = Field(default_factory=ThresholdIn)
    start: Time | None = Field(None, description="first reading to look at (default: the first)")
    end: Time | None = Field(None, description="look at readings before this time (default: all)")
    warmup: int | None = Field(
        None, ge=2, description="detect as a live stream would, after this many readings"
    )


_EVENT = {
    "id": 12,
    "run_id": 3,
    "start": "2024-03-05T02:00:00+01:00",
    "end": "2024-03-05T05:00:00+01:00",
    "type": "off_hours",
    "peak_score": 4.1,
    "mean_score": 3.4,
    "excess": 86.5,
    "cause": "Tuesday 02:00-05:00: 3.2x the usual night load",
}
_RUN = {
    "id": 3,
    "meter": "hall-7",
    "detector": "ensemble",
    "threshold": {"mode": "sigma", "k": 2.5, "direction": "over"},
    "model_id": 1,
    "data_from": "2024-01-01T00:00:00+01:00",
    "data_to": "2024-12-31T23:00:00+01:00",
    "points": 8760,
    "flagged": 14,
    "events": 1,
    "energy_unit": "kWh",
    "created": "2025-01-02T09:31:00+00:00",
}


class EventOut(BaseModel):
    """A recorded anomalous event."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EVENT]})

    id: int
    run_id: int
    start: str
    end: str
    type: str
    peak_score: float | None
    mean_score: float | None = Field(
        default=None, description="mean calibrated score of the event's flagged readings"
    )
    excess: float | None = Field(description="energy above (+) or below (-) expected")
    cause: str | None


class RunOut(BaseModel):
    """A recorded detection run."""

    model_config = ConfigDict(json_schema_extra={"examples": [_RUN]})

    id: int
    meter: str
    detector: str
    threshold: dict[str, Any]
    model_id: int | None
    data_from: str | None
    data_to: str | None
    points: int
    flagged: int
    events: int
    energy_unit: str | None
    created: str


class Summary(BaseModel):
    points: int
    flagged: int
    events: int
    by_type: dict[str, int]
    excess: float | None
    energy_unit: str


class DetectionOut(BaseModel):
    """A detection run, recorded, with its events."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "run": _RUN,
                    "summary": {
                        "points": 8760,
                        "flagged": 14,
                        "events": 1,
                        "by_type": {"off_hours": 1},
                        "excess": 86.5,
                        "energy_unit": "kWh",
                    },
                    "events": [_EVENT],
                }
            ]
        }
    )

    run: RunOut
    summary: Summary
    events: list[EventOut]


class EventsOut(BaseModel):
    """A run and its events."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"run": _RUN, "events": [_EVENT]}]})

    run: RunOut
    events: list[EventOut]


class RunsOut(BaseModel):
    """A meter's runs, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"meter": "hall-7", "runs": [_RUN]}]})

    meter: str
    runs: list[RunOut]
