"""Alerts in the database: channels, rules, silences, alert states and the notification log.

``AlertRepository`` is the seam the alerts wing, the CLI, the API and the page call;
``SqlAlertRepository`` the one implementation (SQLite and PostgreSQL). The store sits below
``core.auth`` and ``core.alerts``: it keeps a channel's URL as the sealed token it is handed and the
masked text to show, and never sees the URL in clear. Every call takes ``owner`` (None = the
workspace); a row of another owner answers "not found" exactly like a missing one.

=================  ==============================================================================
record             what it is
=================  ==============================================================================
``Channel``        a named Apprise URL (sealed) with its kind and masked form
``AlertRule``      which meters and events alert, when not (quiet hours / days), where to
``Silence``        a matcher (meters + types) muted between two times, who and why
``AlertState``     one event's alert (by fingerprint): open, resolved or superseded, when sent
``Notification``   one log row: a message meant for one channel about one event (or a test)
=================  ==============================================================================

The log's dedup key is (fingerprint, channel, kind, seq): :meth:`SqlAlertRepository.claim` inserts a
row in status ``sending`` and answers False when one exists, so two processes never both send it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from core.errors import DataError
from core.store.db import NotFoundError, Store
from core.store.schema import (
    alert_channels,
    alert_rules,
    alert_silences,
    alert_states,
    meters,
    notifications,
)

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
            "created": _iso(self.created),
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
            out[key] = _iso(out[key])
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
            "starts": _iso(self.starts),
            "ends": _iso(self.ends),
            "created_by": self.created_by,
            "comment": self.comment,
            "created": _iso(self.created),
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
            out[key] = _iso(out[key])
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


class SqlAlertRepository:
    """``AlertRepository`` over a :class:`~core.store.db.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---- channels --------------------------------------------------------------------------------
    def add_channel(
        self, name: str, kind: str, url_sealed: str, url_masked: str, *, owner: str | None = None
    ) -> Channel:
        """A new channel; :class:`ExistsError` when the owner has one by that name."""
        values = dict(
            owner=owner, name=name, kind=kind, url_sealed=url_sealed, url_masked=url_masked
        )
        try:
            with self.store.writing() as conn:
                conn.execute(insert(alert_channels).values(**values))
        except DataError as err:
            if isinstance(err.__cause__, IntegrityError):
                raise ExistsError(
                    f"a channel named {name!r} exists already: choose another name, or delete it "
                    "first."
                ) from None
            raise
        return self.channel(name, owner=owner)

    def channels(self, *, owner: str | None = None) -> list[Channel]:
        """The owner's channels by name."""
        query = select(alert_channels).where(_owner_is(alert_channels, owner))
        with self.store.reading() as conn:
            rows = conn.execute(query.order_by(alert_channels.c.name)).mappings().all()
        return [Channel(**_aware(row)) for row in rows]

    def channel(self, name: str, *, owner: str | None = None) -> Channel:
        """One channel; :class:`NotFoundError` (listing the owner's) when there is none."""
        found = [c for c in self.channels(owner=owner) if c.name == name]
        if not found:
            raise NotFoundError(
                _missing("channel", name, [c.name for c in self.channels(owner=owner)])
            )
        return found[0]

    def delete_channel(self, name: str, *, owner: str | None = None) -> None:
        """Delete a channel (rules naming it skip it, the log keeps its name)."""
        channel = self.channel(name, owner=owner)
        with self.store.writing() as conn:
            conn.execute(delete(alert_channels).where(alert_channels.c.id == channel.id))

    # ---- rules -----------------------------------------------------------------------------------
    def save_rule(self, rule: AlertRule, *, replace: bool = False) -> AlertRule:
        """Store a rule (``rule.owner`` owns it): new, or with ``replace`` overwriting one of that name."""
        values = _rule_values(rule)
        with self.store.writing() as conn:
            existing = conn.execute(
                select(alert_rules.c.id).where(
                    _owner_is(alert_rules, rule.owner), alert_rules.c.name == rule.name
                )
            ).scalar()
            if existing is not None and not replace:
                raise ExistsError(
                    f"a rule named {rule.name!r} exists already: edit it, or choose another name."
                )
            if existing is None:
                conn.execute(insert(alert_rules).values(**values))
            else:
                conn.execute(
                    update(alert_rules)
                    .where(alert_rules.c.id == existing)
                    .values(**values, updated=func.now())
                )
        return self.rule(rule.name, owner=rule.owner)

    def rules(self, *, owner: str | None = None, enabled_only: bool = False) -> list[AlertRule]:
        """The owner's rules by name (only the enabled ones with ``enabled_only``)."""
        query = select(alert_rules).where(_owner_is(alert_rules, owner))
        if enabled_only:
            query = query.where(alert_rules.c.enabled.is_(True))
        with self.store.reading() as conn:
            rows = conn.execute(query.order_by(alert_rules.c.name)).mappings().all()
        return [_rule(row) for row in rows]

    def rule(self, name: str, *, owner: str | None = None) -> AlertRule:
        """One rule; :class:`NotFoundError` when there is none."""
        found = [r for r in self.rules(owner=owner) if r.name == name]
        if not found:
            raise NotFoundError(_missing("rule", name, [r.name for r in self.rules(owner=owner)]))
        return found[0]

    def delete_rule(self, name: str, *, owner: str | None = None) -> None:
        """Delete a rule (its log rows stay)."""
        rule = self.rule(name, owner=owner)
        with self.store.writing() as conn:
            conn.execute(delete(alert_rules).where(alert_rules.c.id == rule.id))

    # ---- silences --------------------------------------------------------------------------------
    def add_silence(self, silence: Silence) -> Silence:
        """Store a silence (its ``id`` is ignored); returns it with its id."""
        values = {k: v for k, v in _silence_values(silence).items() if k not in ("id", "created")}
        with self.store.writing() as conn:
            new_id = conn.execute(
                insert(alert_silences).values(**values).returning(alert_silences.c.id)
            ).scalar_one()
        return self._silence(new_id, silence.owner)

    def silences(
        self, *, owner: str | None = None, active_at: datetime | None = None
    ) -> list[Silence]:
        """The owner's silences, newest first; with ``active_at`` only those muting at that time."""
        t = alert_silences
        query = select(t).where(_owner_is(t, owner))
        if active_at is not None:
            at = utc(active_at)
            query = query.where(t.c.starts <= at, t.c.ends > at)
        with self.store.reading() as conn:
            rows = conn.execute(query.order_by(t.c.id.desc())).mappings().all()
        return [_silence(row) for row in rows]

    def end_silence(self, silence_id: int, now: datetime, *, owner: str | None = None) -> Silence:
        """End a silence now (kept for the log's sake)."""
        self._silence(silence_id, owner)
        now = utc(now)
        with self.store.writing() as conn:
            conn.execute(
                update(alert_silences)
                .where(alert_silences.c.id == silence_id, alert_silences.c.ends > now)
                .values(ends=now)
            )
        return self._silence(silence_id, owner)

    def _silence(self, silence_id: int, owner: str | None) -> Silence:
        t = alert_silences
        with self.store.reading() as conn:
            row = (
                conn.execute(select(t).where(t.c.id == silence_id, _owner_is(t, owner)))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"no silence #{silence_id}: `alerts silence list` shows them.")
        return _silence(row)

    # ---- alert states ----------------------------------------------------------------------------
    def states(
        self,
        meter_id: int,
        *,
        fingerprints: list[str] | tuple[str, ...] = (),
        open_only: bool = True,
    ) -> list[AlertState]:
        """The meter's open alert states, plus those with one of ``fingerprints`` whatever their status."""
        t = alert_states
        cond = t.c.status == "open"
        if fingerprints:
            cond = cond | t.c.fingerprint.in_(list(fingerprints))
        if not open_only and not fingerprints:
            cond = t.c.id.is_not(None)
        with self.store.reading() as conn:
            rows = conn.execute(select(t).where(t.c.meter_id == meter_id, cond)).mappings().all()
        return [AlertState(**_aware(row)) for row in rows]

    def save_state(self, conn: Connection, state: dict[str, Any]) -> None:
        """Insert or update one state by fingerprint (inside the caller's write transaction)."""
        t = alert_states
        values = {
            k: utc(v) if isinstance(v, datetime) else v for k, v in state.items() if k != "id"
        }
        found = conn.execute(select(t.c.id).where(t.c.fingerprint == state["fingerprint"])).scalar()
        if found is None:
            conn.execute(insert(t).values(**values))
        else:
            values.pop("first_seen", None)
            conn.execute(update(t).where(t.c.id == found).values(**values))

    def mark_sent(self, conn: Connection, fingerprint: str, when: datetime) -> None:
        """Note that a message about ``fingerprint`` went out at ``when``."""
        t, when = alert_states, utc(when)
        conn.execute(
            update(t)
            .where(t.c.fingerprint == fingerprint)
            .values(first_sent=func.coalesce(t.c.first_sent, when), last_sent=when)
        )

    # ---- the notification log --------------------------------------------------------------------
    def notifications_for(self, fingerprints: list[str]) -> list[Notification]:
        """Every log row about these fingerprints."""
        if not fingerprints:
            return []
        query = select(notifications).where(notifications.c.fingerprint.in_(fingerprints))
        with self.store.reading() as conn:
            rows = conn.execute(query.order_by(notifications.c.id)).mappings().all()
        return [_notification(row) for row in rows]

    def claim(self, row: dict[str, Any]) -> int | None:
        """Insert a new log row (status as given, usually ``sending``); None when its key exists."""
        try:
            with self.store.writing() as conn:
                values = {k: utc(v) if isinstance(v, datetime) else v for k, v in row.items()}
                return conn.execute(
                    insert(notifications).values(**values).returning(notifications.c.id)
                ).scalar_one()
        except DataError as err:
            if isinstance(err.__cause__, IntegrityError):
                return None
            raise

    def reclaim(self, row_id: int, from_statuses: tuple[str, ...], values: dict[str, Any]) -> bool:
        """Move a row out of one of ``from_statuses`` (e.g. failed -> sending); False when another
        process moved it first."""
        t = notifications
        with self.store.writing() as conn:
            done = conn.execute(
                update(t)
                .where(t.c.id == row_id, t.c.status.in_(from_statuses))
                .values(**{k: utc(v) if isinstance(v, datetime) else v for k, v in values.items()})
            )
        return done.rowcount == 1

    def finish(
        self,
        row_ids: list[int],
        status: str,
        *,
        reason: str | None,
        attempts: int,
        when: datetime,
        fingerprints: list[str] = (),  # type: ignore[assignment]
        open_flags: dict[int, bool] | None = None,
    ) -> None:
        """Record how a send ended for the rows of one message, in one transaction."""
        t, when = notifications, utc(when)
        with self.store.writing() as conn:
            for row_id in row_ids:
                history = conn.execute(
                    select(t.c.history, t.c.attempts).where(t.c.id == row_id)
                ).first()
                tries = list(history[0] or []) if history else []
                entry = {"at": when.isoformat(), "status": status, "attempts": attempts}
                if reason:
                    entry["error" if status == "failed" else "reason"] = reason
                if open_flags is not None:
                    entry["open"] = bool(open_flags.get(row_id, False))
                tries.append(entry)
                total = (history[1] if history else 0) + attempts
                conn.execute(
                    update(t)
                    .where(t.c.id == row_id)
                    .values(
                        status=status,
                        reason=reason,
                        attempts=total,
                        history=tries,
                        updated=when,
                        sent=when if status == "sent" else t.c.sent,
                    )
                )
            if status == "sent":
                for fp in fingerprints:
                    self.mark_sent(conn, fp, when)

    def set_subject(self, row_ids: list[int], subject: str) -> None:
        """The subject of the message these rows went out in."""
        t = notifications
        with self.store.writing() as conn:
            conn.execute(update(t).where(t.c.id.in_(row_ids)).values(subject=subject))

    def note(self, row_id: int, status: str, reason: str | None, when: datetime) -> None:
        """Change a row's status without a send (suppressed, interrupted), with a history entry."""
        t = notifications
        with self.store.writing() as conn:
            tries = conn.execute(select(t.c.history).where(t.c.id == row_id)).scalar() or []
            tries = [*tries, {"at": when.isoformat(), "status": status, "reason": reason}]
            conn.execute(
                update(t)
                .where(t.c.id == row_id)
                .values(status=status, reason=reason, history=tries, updated=utc(when))
            )

    def log(
        self,
        *,
        owner: str | None = None,
        meter: str | None = None,
        status: str | None = None,
        channel: str | None = None,
        kind: str | None = None,
        limit: int = 200,
    ) -> list[Notification]:
        """The owner's notification log, newest first, filtered by any of the given values."""
        t = notifications
        query = select(t).where(_owner_is(t, owner))
        for column, value in (
            ("meter", meter),
            ("status", status),
            ("channel", channel),
            ("kind", kind),
        ):
            if value is not None:
                query = query.where(t.c[column] == value)
        query = query.order_by(t.c.id.desc()).limit(max(1, min(int(limit), 10_000)))
        with self.store.reading() as conn:
            rows = conn.execute(query).mappings().all()
        return [_notification(row) for row in rows]

    def meter_id(self, name: str, owner: str | None) -> int | None:
        """The stored id of a meter, None when there is none."""
        with self.store.reading() as conn:
            return conn.execute(
                select(meters.c.id).where(_owner_is(meters, owner), meters.c.name == name)
            ).scalar()


# ---- rows <-> records ----------------------------------------------------------------------------
def _owner_is(table, owner: str | None):
    return func.coalesce(table.c.owner, "") == (owner or "")


def _missing(what: str, name: str, names: list[str]) -> str:
    stored = ", ".join(names[:20]) if names else "none yet"
    return f"no {what} named {name!r} (stored: {stored})."


def utc(when: datetime) -> datetime:
    """``when`` in UTC (a naive time is taken as UTC): SQLite keeps no offset, so only UTC is stored."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _aware(row) -> dict[str, Any]:
    return {k: utc(v) if isinstance(v, datetime) else v for k, v in dict(row).items()}


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def _tuple(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (value or ()))


def _rule_values(rule: AlertRule) -> dict[str, Any]:
    out = {f.name: getattr(rule, f.name) for f in fields(rule)}
    for key in ("id", "created", "updated"):
        out.pop(key)
    for key in ("channels", "selector_values", "quiet_days"):
        out[key] = list(out[key])
    out["types"] = None if rule.types is None else list(rule.types)
    return out


def _rule(row) -> AlertRule:
    values = _aware(row)
    for key in ("channels", "selector_values", "quiet_days"):
        values[key] = _tuple(values[key])
    values["types"] = None if values["types"] is None else _tuple(values["types"])
    values["enabled"] = bool(values["enabled"])
    return AlertRule(**values)


def _silence_values(silence: Silence) -> dict[str, Any]:
    out = {f.name: getattr(silence, f.name) for f in fields(silence)}
    out["selector_values"] = list(silence.selector_values)
    out["starts"], out["ends"] = utc(silence.starts), utc(silence.ends)
    out["types"] = None if silence.types is None else list(silence.types)
    return out


def _silence(row) -> Silence:
    values = _aware(row)
    values["selector_values"] = _tuple(values["selector_values"])
    values["types"] = None if values["types"] is None else _tuple(values["types"])
    return Silence(**values)


def _notification(row) -> Notification:
    values = _aware(row)
    values["history"] = list(values["history"] or [])
    return Notification(**values)


def pending_rows(
    repo: SqlAlertRepository, meter: str, owner: str | None, since: datetime
) -> list[Notification]:
    """The meter's log rows created since ``since`` that a run may still act on: failed (to retry)
    and sending (left by a process that stopped mid-send). Suppressed rows are re-checked through
    their event, which the worker passes again while it is open."""
    t = notifications
    query = select(t).where(
        _owner_is(t, owner),
        t.c.meter == meter,
        t.c.status.in_(("failed", "sending")),
        t.c.created >= utc(since),
        t.c.fingerprint.is_not(None),
    )
    with repo.store.reading() as conn:
        rows = conn.execute(query.order_by(t.c.id)).mappings().all()
    return [_notification(row) for row in rows]
