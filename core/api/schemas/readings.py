"""Readings: what ``POST /v1/meters/{meter}/readings`` answers, and ``GET`` pages.

``ReadingsReport`` keys (every reading of the body is in exactly one of the first four counts):

* ``received``: readings in the body
* ``inserted``: a time the meter did not have: stored
* ``unchanged``: already stored with the same value and covariates (a re-sent batch changes nothing)
* ``conflicting``: stored with another value or other covariates: ``on_conflict`` decides (``keep``
  the stored ones, the default; ``replace`` them; ``skip`` the whole batch); ``conflicts`` lists the
  first 100 of their times
* ``rejected``: readings that could not be used; ``rejected_rows`` lists up to 1,000 of them with
  ``row`` (the reading's position in the body, from 1: for CSV the header is not counted, for
  NDJSON blank lines are not), ``field`` and ``reason`` (what is wrong and what to send instead)
* ``meter``, ``format`` (``json``, ``ndjson`` or ``csv``), ``policy``, ``replaced`` (conflicting
  readings overwritten), ``skipped`` (true when ``skip`` met a conflict: nothing was written),
  ``message`` (one line for people)

``ReadingsPage`` keys: ``meter``, ``unit``, ``timezone``, ``step`` (of these readings: the meter's,
or the resample step), ``resampled`` (null, or ``{step, how}`` with ``how`` = ``sum`` for energy
units, ``mean`` for power units), ``count``, ``next`` (the ``start`` of the next page when the page
is full, else null), ``readings`` (``[{timestamp, value, <covariate>: number, ...}]`` in time order;
``value`` null = missing).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RejectedRow(BaseModel):
    """A reading that was not stored, and why."""

    row: int = Field(description="the reading's position in the body, from 1")
    field: str | None = Field(description="timestamp, value or a covariate's name; null: the row")
    reason: str = Field(description="what is wrong and what to send instead")


class ReadingsReport(BaseModel):
    """What one push of readings did."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "meter": "hall-7",
                    "format": "json",
                    "policy": "keep",
                    "received": 4,
                    "inserted": 2,
                    "unchanged": 1,
                    "conflicting": 0,
                    "rejected": 1,
                    "replaced": 0,
                    "skipped": False,
                    "conflicts": [],
                    "rejected_rows": [
                        {
                            "row": 4,
                            "field": "value",
                            "reason": "'n/a' is not a number: send a number, or null for a "
                            "missing reading.",
                        }
                    ],
                    "message": "hall-7: 2 readings added, 1 already stored; 1 rejected.",
                }
            ]
        }
    )

    meter: str
    format: Literal["json", "ndjson", "csv"]
    policy: Literal["keep", "replace", "skip"]
    received: int
    inserted: int
    unchanged: int
    conflicting: int
    rejected: int
    replaced: int
    skipped: bool
    conflicts: list[str] = Field(description="first 100 conflicting times")
    rejected_rows: list[RejectedRow] = Field(description="first 1,000 rejected readings")
    message: str


class Resampled(BaseModel):
    step: str
    how: Literal["sum", "mean"]


class ReadingsPage(BaseModel):
    """Stored readings, in time order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "meter": "hall-7",
                    "unit": "kWh",
                    "timezone": "Europe/Amsterdam",
                    "step": "1h",
                    "resampled": None,
                    "count": 2,
                    "next": None,
                    "readings": [
                        {
                            "timestamp": "2024-01-01T00:00:00+01:00",
                            "value": 41.5,
                            "temperature": 3.2,
                        },
                        {
                            "timestamp": "2024-01-01T01:00:00+01:00",
                            "value": None,
                            "temperature": 3.0,
                        },
                    ],
                }
            ]
        }
    )

    meter: str
    unit: str | None
    timezone: str | None
    step: str | None
    resampled: Resampled | None
    count: int
    next: str | None = Field(description="start of the next page, null when this is the last")
    readings: list[dict[str, str | float | None]]
