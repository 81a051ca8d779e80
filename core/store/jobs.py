"""The worker's bookkeeping: the single-worker lease and each meter's job state (tables in ``schema``).

``SqlLeaseRepository`` keeps one row per lease name. ``acquire(holder, ttl)`` takes it when nobody
holds it, when its holder's ``expires`` has passed (a worker that was killed stops renewing), or
when ``holder`` already holds it (a renewal); otherwise it answers the lease as it stands, and the
caller stands by. The check and the write happen in one write transaction (SQLite ``BEGIN
IMMEDIATE``; PostgreSQL ``SELECT ... FOR UPDATE`` on the row), so two workers starting at once
cannot both win. Times are the workers' clocks in UTC: hosts sharing a database need synchronised
clocks (NTP), as any lease does.

``SqlJobRepository`` lists every meter of every owner with its newest reading's time, its revision
and its ``MeterJob`` state in one query (the newest reading is an index probe per meter), and
writes state fields with ``update(meter_id, **fields)`` (an upsert, one transaction).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from core.store import readings as rd
from core.store.db import Store
from core.store.schema import meter_jobs, meters, readings, worker_lease

LEASE = "worker"


@dataclass(frozen=True)
class Lease:
    """Who holds the worker lease, since when, last heartbeat, and until when."""

    holder: str
    acquired: datetime
    heartbeat: datetime
    expires: datetime

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires <= (now or utcnow())


class LeaseRepository(Protocol):
    def acquire(self, holder: str, ttl_s: float) -> tuple[bool, Lease]: ...

    def renew(self, holder: str, ttl_s: float) -> bool: ...

    def release(self, holder: str) -> None: ...

    def current(self) -> Lease | None: ...


class SqlLeaseRepository:
    """``LeaseRepository`` over a :class:`~core.store.db.Store` (see the module docstring)."""

    def __init__(self, store: Store, name: str = LEASE) -> None:
        self.store = store
        self.name = name

    def acquire(self, holder: str, ttl_s: float) -> tuple[bool, Lease]:
        """(True, the lease) when ``holder`` holds it now; (False, the other holder's) otherwise."""
        now = utcnow()
        expires = now + timedelta(seconds=ttl_s)
        with self.store.writing() as conn:
            row = self._row(conn, lock=True)
            if row is None:
                stmt = rd.insert_for(conn)(worker_lease).values(
                    name=self.name, holder=holder, acquired=now, heartbeat=now, expires=expires
                )
                conn.execute(stmt.on_conflict_do_nothing())
                row = self._row(conn, lock=True)
                assert row is not None
                if row.holder == holder:
                    return True, row
            if row.holder != holder and not row.expired(now):
                return False, row
            acquired = row.acquired if row.holder == holder else now
            conn.execute(
                update(worker_lease)
                .where(worker_lease.c.name == self.name)
                .values(holder=holder, acquired=acquired, heartbeat=now, expires=expires)
            )
        return True, Lease(holder, acquired, now, expires)

    def renew(self, holder: str, ttl_s: float) -> bool:
        """Push the expiry on while ``holder`` still holds the lease; False when it was taken over."""
        now = utcnow()
        with self.store.writing() as conn:
            done = conn.execute(
                update(worker_lease)
                .where(worker_lease.c.name == self.name, worker_lease.c.holder == holder)
                .values(heartbeat=now, expires=now + timedelta(seconds=ttl_s))
            )
            return done.rowcount == 1

    def release(self, holder: str) -> None:
        """Let the lease go at once (a clean exit), when ``holder`` holds it."""
        now = utcnow()
        with self.store.writing() as conn:
            conn.execute(
                update(worker_lease)
                .where(worker_lease.c.name == self.name, worker_lease.c.holder == holder)
                .values(heartbeat=now, expires=now)
            )

    def current(self) -> Lease | None:
        """The lease as stored, None when no worker ever took it."""
        with self.store.reading() as conn:
            return self._row(conn, lock=False)

    def _row(self, conn: Connection, *, lock: bool) -> Lease | None:
        query = select(worker_lease).where(worker_lease.c.name == self.name)
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return Lease(
            row["holder"], _aware(row["acquired"]), _aware(row["heartbeat"]), _aware(row["expires"])
        )


@dataclass(frozen=True)
class MeterJob:
    """One meter as the worker sees it: identity, newest reading (ts), revision, and job state."""

    meter_id: int
    name: str
    owner: str | None
    timezone: str | None
    step_seconds: int | None
    unit: str | None
    revision: str | None
    newest: int | None
    scored_to: int | None = None
    open_from: int | None = None
    pending_run_id: int | None = None
    pending_to: int | None = None
    pending_open_from: int | None = None
    model_id: int | None = None
    trained_from: int | None = None
    trained_to: int | None = None
    retrained: datetime | None = None
    scored: datetime | None = None
    forecast_at: datetime | None = None
    forecast: dict[str, Any] | None = None
    error: str | None = None

    def when(self, ts: int | None) -> pd.Timestamp | None:
        """A stored ts as a time in the meter's zone."""
        return rd.from_us(ts, self.timezone)


STATE_FIELDS = tuple(
    f.name for f in fields(MeterJob) if f.name in meter_jobs.c and f.name != "meter_id"
)
_TIMES = ("retrained", "scored", "forecast_at")


class SqlJobRepository:
    """Each meter's job state over a :class:`~core.store.db.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def meters(self, ids: list[int] | None = None) -> list[MeterJob]:
        """Every meter (of every owner), by id, with its newest reading and job state."""
        newest = (
            select(func.max(readings.c.ts))
            .where(readings.c.meter_id == meters.c.id)
            .scalar_subquery()
            .label("newest")
        )
        query = (
            select(
                meters.c.id,
                meters.c.name,
                meters.c.owner,
                meters.c.timezone,
                meters.c.step_seconds,
                meters.c.unit,
                meters.c.revision,
                newest,
                *[meter_jobs.c[f] for f in STATE_FIELDS],
            )
            .outerjoin(meter_jobs, meter_jobs.c.meter_id == meters.c.id)
            .order_by(meters.c.id)
        )
        if ids is not None:
            query = query.where(meters.c.id.in_(ids))
        with self.store.reading() as conn:
            rows = conn.execute(query).mappings().all()
        return [_job(r) for r in rows]

    def get(self, meter_id: int) -> MeterJob | None:
        found = self.meters([meter_id])
        return found[0] if found else None

    def revisions(self) -> dict[int, str | None]:
        """meter id -> revision token (one look at the meters table: the fast poll's question)."""
        with self.store.reading() as conn:
            return dict(conn.execute(select(meters.c.id, meters.c.revision)).all())

    def update(self, meter_id: int, **values: Any) -> None:
        """Write some state fields of one meter (the row is created on first write)."""
        unknown = set(values) - set(STATE_FIELDS)
        if unknown:
            raise ValueError(f"not job state fields: {sorted(unknown)}")
        values["updated"] = utcnow()
        with self.store.writing() as conn:
            if conn.scalar(select(meters.c.id).where(meters.c.id == meter_id)) is None:
                return  # the meter was deleted meanwhile: nothing to keep state for
            stmt = rd.insert_for(conn)(meter_jobs).values(meter_id=meter_id, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=["meter_id"], set_=values))


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(when: datetime | None) -> datetime | None:
    # SQLite gives back naive datetimes for what was written in UTC
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _job(row) -> MeterJob:
    state = {f: row[f] for f in STATE_FIELDS}
    for f in _TIMES:
        state[f] = _aware(state[f])
    return MeterJob(
        meter_id=row["id"],
        name=row["name"],
        owner=row["owner"],
        timezone=row["timezone"],
        step_seconds=row["step_seconds"],
        unit=row["unit"],
        revision=row["revision"],
        newest=row["newest"],
        **state,
    )
