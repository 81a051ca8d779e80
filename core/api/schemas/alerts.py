"""Alerts: what ``/v1/channels``, ``/v1/alert-rules``, ``/v1/silences`` and ``/v1/notifications`` take
and answer.

``ChannelIn``: ``name``, ``url`` (an Apprise URL: ``mailto://HOST:PORT?from=A&to=B``,
``json://host/path``, ``slack://...``; stored sealed, never answered back). ``ChannelOut``: ``name``,
``kind`` (email, webhook, or the Apprise scheme), ``url`` (masked: ``json://***:***@host/***``),
``created``.

``RuleIn`` / ``RuleOut``: ``name``, ``meters`` (``all``, a list of names, ``site:S`` or ``type:T``;
answered as ``selector`` + ``selector_values``), ``channels`` (names), ``min_score``, ``types``
(null = every type), ``min_excess`` (kWh off expected), ``tariff`` (per kWh: the cost in messages),
``min_duration_h``, ``quiet_hours`` (``22:00-06:00`` in the meter's zone), ``quiet_days``
(``sat``...), ``enabled``, ``group_wait`` / ``repeat_interval`` / ``lookback`` (``1h``-style or
seconds; answered as ``*_s`` seconds).

``SilenceIn``: ``meters``, ``until`` (ISO time, or a duration like ``2h``), ``starts`` (default now),
``types``, ``comment`` (why); ``created_by`` is the caller. ``NotificationOut``: one log row:
``status`` sending | sent | failed | suppressed | interrupted, ``reason`` (the silence or rule that
suppressed it, or the channel's error), ``attempts``, ``retried``, ``history`` (each try).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.api.schemas.common import RequestBody

NAME = Field(min_length=1, max_length=200, description="1-200 characters, no '/'")
DURATION = "a duration: 30s, 15m, 4h, 2d, or seconds"
RULE_EXAMPLE = {
    "name": "big-spikes",
    "meters": ["hall-7"],
    "channels": ["ops-mail"],
    "min_score": 4,
    "types": ["spike", "level_shift"],
    "min_excess": 10,
    "tariff": 0.25,
    "quiet_hours": "22:00-06:00",
}
RULE_OUT_EXAMPLE = {
    "name": "big-spikes",
    "channels": ["ops-mail"],
    "selector": "list",
    "selector_values": ["hall-7"],
    "min_score": 4.0,
    "types": ["spike", "level_shift"],
    "min_excess": 10.0,
    "tariff": 0.25,
    "min_duration_h": None,
    "quiet_hours": "22:00-06:00",
    "quiet_days": [],
    "enabled": True,
    "group_wait_s": 3600,
    "repeat_interval_s": 14400,
    "lookback_s": 86400,
    "created": "2026-01-05T09:00:00+00:00",
    "updated": "2026-01-05T09:00:00+00:00",
}
SILENCE_OUT_EXAMPLE = {
    "id": 1,
    "selector": "list",
    "selector_values": ["hall-7"],
    "types": None,
    "starts": "2026-01-05T09:00:00+00:00",
    "ends": "2026-01-05T11:00:00+00:00",
    "created_by": "ana",
    "comment": "chiller maintenance",
    "created": "2026-01-05T09:00:00+00:00",
}
NOTIFICATION_EXAMPLE = {
    "id": 7,
    "fingerprint": "3f1c0a9e6b2d4c8e9a7b5d31",
    "meter": "hall-7",
    "rule": "big-spikes",
    "channel": "ops-mail",
    "kind": "firing",
    "seq": 0,
    "status": "sent",
    "reason": None,
    "attempts": 2,
    "retried": True,
    "message_id": "9b8e8f2a0c4d4f0e8a1b2c3d4e5f6a7b",
    "subject": "[WattsUp] spike on hall-7 from 2026-01-05 08:00",
    "history": [{"at": "2026-01-05T09:00:00+00:00", "status": "sent", "attempts": 2}],
    "created": "2026-01-05T09:00:00+00:00",
    "updated": "2026-01-05T09:00:01+00:00",
    "sent": "2026-01-05T09:00:01+00:00",
}


class Deleted(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"deleted": "ops-mail"}]})

    deleted: str


class ChannelIn(RequestBody):
    """A new channel."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "ops-mail",
                    "url": "mailto://smtp.example.org:25?from=wattsup@example.org&to=ops@example.org",
                }
            ]
        }
    )

    name: str = NAME
    url: str = Field(
        min_length=4,
        max_length=4_000,
        description="an Apprise URL (sealed in the database, never answered back)",
        examples=["mailto://smtp.example.org:25?from=wattsup@example.org&to=ops@example.org"],
    )


class ChannelOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "ops-hook",
                    "kind": "webhook",
                    "url": "json://***:***@hooks.example.org/***",
                    "created": "2026-01-05T09:00:00+00:00",
                }
            ]
        }
    )

    name: str
    kind: str
    url: str = Field(description="masked: secrets replaced by ***")
    created: str | None = None


class RuleIn(RequestBody):
    """A rule: which meters and events alert, when not, and where to."""

    model_config = ConfigDict(json_schema_extra={"examples": [RULE_EXAMPLE]})

    name: str = NAME
    meters: str | list[str] = Field("all", description="all, [names], 'site:S' or 'type:T'")
    channels: list[str] = Field(min_length=1, max_length=20)
    min_score: float | None = Field(None, ge=0)
    types: list[str] | None = Field(None, max_length=20)
    min_excess: float | None = Field(None, ge=0, description="kWh above or below expected")
    tariff: float | None = Field(None, ge=0, description="price per kWh")
    min_duration_h: float | None = Field(None, ge=0)
    quiet_hours: str | None = Field(None, max_length=11, examples=["22:00-06:00"])
    quiet_days: list[str] = Field(default_factory=list, max_length=7, examples=[["sat", "sun"]])
    enabled: bool = True
    group_wait: str | int | None = Field(None, description=DURATION + " (default 1h)")
    repeat_interval: str | int | None = Field(None, description=DURATION + " (default 4h)")
    lookback: str | int | None = Field(None, description=DURATION + " (default 24h)")


class RuleOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [RULE_OUT_EXAMPLE]})

    name: str
    channels: list[str]
    selector: str
    selector_values: list[str]
    min_score: float | None
    types: list[str] | None
    min_excess: float | None
    tariff: float | None
    min_duration_h: float | None
    quiet_hours: str | None
    quiet_days: list[str]
    enabled: bool
    group_wait_s: int
    repeat_interval_s: int
    lookback_s: int
    created: str | None
    updated: str | None


class SilenceIn(RequestBody):
    """A silence: mute matching alerts from ``starts`` (now) to ``until``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"meters": ["hall-7"], "until": "2h", "comment": "chiller maintenance"}]
        }
    )

    meters: str | list[str] = Field(description="all, [names], 'site:S' or 'type:T'")
    until: str = Field(max_length=40, examples=["2h", "2026-01-31T18:00:00Z"])
    starts: datetime | None = None
    types: list[str] | None = Field(None, max_length=20)
    comment: str | None = Field(None, max_length=2_000, description="why")


class SilenceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SILENCE_OUT_EXAMPLE]})

    id: int
    selector: str
    selector_values: list[str]
    types: list[str] | None
    starts: str
    ends: str
    created_by: str | None
    comment: str | None
    created: str | None


class NotificationOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [NOTIFICATION_EXAMPLE]})

    id: int
    fingerprint: str | None
    meter: str | None
    rule: str | None
    channel: str
    kind: str
    seq: int
    status: str
    reason: str | None
    attempts: int
    retried: bool
    message_id: str
    subject: str | None
    history: list[dict[str, Any]]
    created: str | None
    updated: str | None
    sent: str | None
