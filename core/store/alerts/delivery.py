"""What the alerts wing records while it sends: alert states and the notification log
(``SqlAlertRepository`` inherits it).

The log's dedup key is (fingerprint, channel, kind, seq): :meth:`AlertDelivery.claim` inserts a
row in status ``sending`` and answers False when one exists, so two processes never both send it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from core.errors import DataError
from core.store.alerts.records import AlertState, Notification, utc
from core.store.alerts.rows import aware, notification_of, owner_is
from core.store.db import Store
from core.store.schema import alert_states, meters, notifications


class AlertDelivery:
    """Alert states by fingerprint and the notification log."""

    store: Store

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
        return [AlertState(**aware(row)) for row in rows]

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
        return [notification_of(row) for row in rows]

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
        query = select(t).where(owner_is(t, owner))
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
        return [notification_of(row) for row in rows]

    def meter_id(self, name: str, owner: str | None) -> int | None:
        """The stored id of a meter, None when there is none."""
        with self.store.reading() as conn:
            return conn.execute(
                select(meters.c.id).where(owner_is(meters, owner), meters.c.name == name)
            ).scalar()


def pending_rows(
    repo: AlertDelivery, meter: str, owner: str | None, since: datetime
) -> list[Notification]:
    """The meter's log rows created since ``since`` that a run may still act on: failed (to retry)
    and sending (left by a process that stopped mid-send). Suppressed rows are re-checked through
    their event, which the worker passes again while it is open."""
    t = notifications
    query = select(t).where(
        owner_is(t, owner),
        t.c.meter == meter,
        t.c.status.in_(("failed", "sending")),
        t.c.created >= utc(since),
        t.c.fingerprint.is_not(None),
    )
    with repo.store.reading() as conn:
        rows = conn.execute(query.order_by(t.c.id)).mappings().all()
    return [notification_of(row) for row in rows]
