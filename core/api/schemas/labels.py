"""Labels: what a person says about an event or a span of a meter's readings.

``LabelIn`` / ``SpanLabelIn``: ``verdict`` (real | not_anomaly | expected), ``note``, ``author``
(with an API key: the key's user, another name is a 422), and for a span ``start`` and ``end``.
``LabelOut``: ``id``, ``meter``, ``start``, ``end``, ``verdict``, ``note``, ``author``,
``event_id`` (null for a span). ``LabelsOut``: ``meter``, ``labels`` (the same without ids, with
``created``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.api.schemas.common import RequestBody, Time
from core.store.schema import VERDICTS

Verdict = Literal[VERDICTS]  # type: ignore[valid-type]  # the store's list


class LabelIn(RequestBody):
    """What a person says about an event."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"verdict": "expected", "note": "night cleaning crew"}]}
    )

    verdict: Verdict = Field(description="real | not_anomaly | expected")
    note: str | None = Field(None, max_length=2_000)
    author: str | None = Field(
        None,
        max_length=200,
        description="who says so. With an API key the author is the key's user: leave this out "
        "(another name is refused with 422). Only an install without users stores it as given.",
        examples=["ana"],
    )


class SpanLabelIn(LabelIn):
    """What a person says about a span of a meter's readings."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "start": "2024-03-05T02:00:00+01:00",
                    "end": "2024-03-05T05:00:00+01:00",
                    "verdict": "real",
                    "note": "chiller left on",
                }
            ]
        }
    )

    start: Time
    end: Time


class LabelOut(BaseModel):
    """A stored label."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "meter": "hall-7",
                    "start": "2024-03-05T02:00:00+01:00",
                    "end": "2024-03-05T05:00:00+01:00",
                    "verdict": "expected",
                    "note": "night cleaning crew",
                    "author": "ana",
                    "event_id": 12,
                }
            ]
        }
    )

    id: int
    meter: str
    start: str
    end: str
    verdict: str
    note: str | None
    author: str | None
    event_id: int | None = None


class StoredLabel(BaseModel):
    start: str
    end: str
    verdict: str
    note: str | None
    author: str | None
    created: str | None


class LabelsOut(BaseModel):
    """A meter's labels, in time order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "meter": "hall-7",
                    "labels": [
                        {
                            "start": "2024-03-05T02:00:00+01:00",
                            "end": "2024-03-05T05:00:00+01:00",
                            "verdict": "expected",
                            "note": "night cleaning crew",
                            "author": "ana",
                            "created": "2025-01-02T10:00:00+00:00",
                        }
                    ],
                }
            ]
        }
    )

    meter: str
    labels: list[StoredLabel]
