"""The alert records the store hands out, and the repository's seam.

==================  =============================================================================
name                what it is
==================  =============================================================================
``Channel``         a named Apprise URL (sealed) with its kind and masked form
``AlertRule``       which meters and events alert, when not (quiet hours / days), where to
``Silence``         a matcher (meters + types) muted between two times, who and why
``AlertState``      one event's alert (by fingerprint): open, resolved or superseded, when sent
``Notification``    one log row: a message meant for one channel about one event (or a test)
``AlertRepository`` the calls the alerts wing, the CLI, the API and the page make
``ExistsError``     a channel or rule by that name exists already
==================  =============================================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol

from core.errors import DataError

DEFAULT_GROUP_WAIT_S = 3600  # meters read every 15-60 min: events an hour apart are one incident
DEFAULT_REPEAT_INTERVAL_S = 4 * 3600  # Alertmanager's default
DEFAULT_LOOKBACK_S = 24 * 3600  # the look-back: backfilled history never floods


class ExistsError(DataError):
    """A channel or rule by that name exists already (the API answers 409)."""


@dataclass(frozen=True)
class Channel:
    """A notification channel. ``url_sealed`` is only ever unsealed by ``core.alerts``."""

    id: int
    owner: str | None
    name: str
    kind: str
    url_sealed: str
    url_masked: str
    created: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without the sealed URL."""
        return {
            "name": self.name,
            "kind": self.kind,
            "url": self.url_masked,
            "created": iso(self.created),
        }


@dataclass(frozen=True)
class AlertRule:
    """An alert rule (``core.alerts.rules.new_rule`` validates one; ``schema.alert_rules`` documents
    the fields)."""

    name: str
    channels: tuple[str, ...]
    selector: str = "all"
    selector_values: tuple[str, ...] = ()
    min_score: float | None = None
    types: tuple[str, ...] | None = None
    min_excess: float | None = None
    tariff: float | None = None
    min_duration_h: float | None = None
    quiet_hours: str | None = None
    quiet_days: tuple[str, ...] = ()
    enabled: bool = True
    group_wait_s: int = DEFAULT_GROUP_WAIT_S
    repeat_interval_s: int = DEFAULT_REPEAT_INTERVAL_S
    lookback_s: int = DEFAULT_LOOKBACK_S
    owner: str | None = None
    id: int | None = None
    created: datetime | None = None
    updated: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (tuples as lists, times as ISO text), without ``id`` and ``owner``."""
        out = asdict(self)
        for key in ("id", "owner"):
            out.pop(key)
        for key in ("created", "updated"):
            out[key] = iso(out[key])
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


@dataclass(frozen=True)
class Silence:
    """Mutes the alerts of matching meters (and types, None = all) from ``starts`` to ``ends``."""

    id: int
    owner: str | None
    selector: str
    selector_values: tuple[str, ...]
    types: tuple[str, ...] | None
    starts: datetime
    ends: datetime
    created_by: str | None
    comment: str | None
    created: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "selector": self.selector,
            "selector_values": list(self.selector_values),
            "types": None if self.types is None else list(self.types),
            "starts": iso(self.starts),
            "ends": iso(self.ends),
            "created_by": self.created_by,
            "comment": self.comment,
            "created": iso(self.created),
        }


@dataclass(frozen=True)
class AlertState:
    """One event's alert, by fingerprint."""

    id: int
    owner: str | None
    fingerprint: str
    meter_id: int
    start_ts: int
    end_ts: int
    type: str
    status: str
    peak_score: float | None
    excess: float | None
    cause: str | None
    first_seen: datetime
    first_sent: datetime | None = None
    last_sent: datetime | None = None
    ended: datetime | None = None


@dataclass(frozen=True)
class Notification:
    """One row of the notification log (``schema.notifications`` documents the columns)."""

    id: int
    owner: str | None
    fingerprint: str | None
    meter: str | None
    rule: str | None
    channel: str
    kind: str
    seq: int
    status: str
    reason: str | None
    attempts: int
    message_id: str
    subject: str | None
    history: list[dict[str, Any]] = field(default_factory=list)
    created: datetime | None = None
    updated: datetime | None = None
    sent: datetime | None = None

    @property
    def retried(self) -> bool:
        """More than one try was needed (or made)."""
        return self.attempts > 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without ``owner``."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "owner"}
        for key in ("created", "updated", "sent"):
            out[key] = iso(out[key])
        out["retried"] = self.retried
        return out


class AlertRepository(Protocol):
    """Where alert channels, rules, silences, states and the log are kept."""

    def add_channel(
        self, name: str, kind: str, url_sealed: str, url_masked: str, *, owner: str | None = None
    ) -> Channel: ...

    def channels(self, *, owner: str | None = None) -> list[Channel]: ...

    def channel(self, name: str, *, owner: str | None = None) -> Channel: ...

    def delete_channel(self, name: str, *, owner: str | None = None) -> None: ...

    def save_rule(self, rule: AlertRule, *, replace: bool = False) -> AlertRule: ...

    def rules(self, *, owner: str | None = None, enabled_only: bool = False) -> list[AlertRule]: ...

    def rule(self, name: str, *, owner: str | None = None) -> AlertRule: ...

    def delete_rule(self, name: str, *, owner: str | None = None) -> None: ...

    def add_silence(self, silence: Silence) -> Silence: ...

    def silences(
        self, *, owner: str | None = None, active_at: datetime | None = None
    ) -> list[Silence]: ...

    def end_silence(
        self, silence_id: int, now: datetime, *, owner: str | None = None
    ) -> Silence: ...

    def log(
        self,
        *,
        owner: str | None = None,
        meter: str | None = None,
        status: str | None = None,
        channel: str | None = None,
        kind: str | None = None,
        limit: int = 200,
    ) -> list[Notification]: ...


def utc(when: datetime) -> datetime:
    """``when`` in UTC (a naive time is taken as UTC): SQLite keeps no offset, so only UTC is stored."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()
