"""Meters: import a frame (one transaction, idempotent, merged by timestamp), load, list, delete,
and a meter's ``revision`` (a token that changes whenever its readings do: the app's cache key).

``MeterRepository`` is the seam the app, the CLI and later the API call; ``SqlMeterRepository`` is
the one implementation, for SQLite and PostgreSQL alike: ``SqlMeterRepository(open_store())``.

Importing a frame into a meter (created on first import, with the frame's unit, time zone and step)
sorts every reading of the frame into exactly one of three counts:

==============  ================================================================================
count           what it means
==============  ================================================================================
``inserted``    a timestamp the meter did not have: written
``unchanged``   already stored with the same value and covariates: nothing to do
``conflicting`` stored with another value or other covariates; the policy decides (listed in
                ``ImportResult.conflicts``)
==============  ================================================================================

==============  ================================================================================
policy          conflicting readings
==============  ================================================================================
``keep``        the stored readings stay; the new ones are written for new timestamps only
``replace``     the file's values overwrite the stored ones
``skip``        nothing at all is written when any reading conflicts (the import is skipped)
==============  ================================================================================

Imports into one meter queue behind each other (SQLite's write lock; a PostgreSQL advisory lock per
meter), so the counts are exact even with several processes importing at once. A process killed
mid-import leaves the meter as it was: nothing is committed before the last statement.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Connection

from core.errors import DataError
from core.store import readings as rd
from core.store.db import NotFoundError, Store
from core.store.records import (
    POLICIES,
    ConflictPolicy,
    ImportResult,
    Meter,
    index_step,
    step_seconds,
    step_text,
)
from core.store.schema import meters
from core.store.schema import readings as readings_table
from core.store.uploads import (
    Upload,
    meter_blobs,
    record_upload,
    remove_unused_blobs,
    write_blob,
)

IMPORT_LOCK = 7_301_012  # PostgreSQL advisory lock class: (IMPORT_LOCK, meter id)
UNITS = ("Wh", "kWh", "MWh", "W", "kW", "MW")


class MeterRepository(Protocol):
    """Where meters and their readings live (SQLite or PostgreSQL behind ``SqlMeterRepository``)."""

    def import_frame(
        self,
        name: str,
        frame: pd.DataFrame,
        *,
        unit: str | None = None,
        step: pd.Timedelta | None = None,
        on_conflict: ConflictPolicy = "keep",
        upload: Upload | None = None,
        owner: str | None = None,
        site: str | None = None,
        building_type: str | None = None,
    ) -> ImportResult: ...

    def load(
        self, name: str, *, owner: str | None = None, start: Any = None, end: Any = None
    ) -> pd.DataFrame: ...

    def get(self, name: str, *, owner: str | None = None) -> Meter: ...

    def list(self, *, owner: str | None = None) -> list[Meter]: ...

    def names(self, *, owner: str | None = None) -> list[str]: ...

    def revision(self, name: str, *, owner: str | None = None) -> str: ...

    def delete(self, name: str, *, owner: str | None = None) -> int: ...


class SqlMeterRepository:
    """``MeterRepository`` over a :class:`~core.store.db.Store` (SQLite or PostgreSQL)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def import_frame(
        self,
        name: str,
        frame: pd.DataFrame,
        *,
        unit: str | None = None,
        step: pd.Timedelta | None = None,
        on_conflict: ConflictPolicy = "keep",
        upload: Upload | None = None,
        owner: str | None = None,
        site: str | None = None,
        building_type: str | None = None,
    ) -> ImportResult:
        """Merge ``frame`` into meter ``name`` in one transaction (see the module docstring).

        Parameters
        ----------
        frame
            Timestamp index, ``value`` and numeric covariates (the canonical frame).
        unit, step
            The readings' unit and grid (``Dataset.unit``, ``Dataset.freq``; the step defaults to
            the index's ``freq``): set on a new meter, checked against an existing one.
        on_conflict
            ``keep`` | ``replace`` | ``skip``: what happens to readings that conflict.
        upload
            The file the frame came from: its bytes are kept and its row recorded with the import.
        """
        name = _check_name(name)
        if on_conflict not in POLICIES:
            raise DataError(
                f"on_conflict must be one of {', '.join(POLICIES)}, got {on_conflict!r}."
            )
        if unit is not None and unit not in UNITS:
            raise DataError(f"unknown unit {unit!r}; use one of {', '.join(UNITS)}.")
        rows = rd.rows_from_frame(frame, name)
        step_s = step_seconds(step if step is not None else index_step(frame.index))
        if upload is not None:
            write_blob(self.store.home, upload)
        with self.store.writing() as conn:
            meter, created = self._meter_for_import(
                conn, name, owner, unit, rows, step_s, site, building_type
            )
            _lock_meter(conn, meter)
            # readings outside the stored span are new for sure: written straight away; only
            # those inside it are staged and compared (a pure append compares nothing)
            span = rd.stored_span(conn, meter.id)
            inside = (
                np.zeros(len(rows), dtype=bool)
                if span is None
                else (rows.ts >= span[0]) & (rows.ts <= span[1])
            )
            fresh, overlap = rows.subset(~inside), rows.subset(inside)
            unchanged, differing, staged = 0, np.empty(0, dtype=np.int64), None
            if len(overlap):
                staged = rd.stage(conn, overlap)
                unchanged, differing = rd.compare(conn, staged, meter.id)
            new_inside = len(overlap) - unchanged - len(differing)
            replace = on_conflict == "replace"
            if not (on_conflict == "skip" and len(differing)):
                rd.insert_new(conn, meter.id, fresh)
                if staged is not None and (new_inside or (replace and len(differing))):
                    rd.merge(conn, staged, meter.id, replace=replace)
                new_columns = [c for c in rows.columns if c not in meter.columns]
                if len(fresh) or new_inside or (replace and len(differing)) or new_columns:
                    conn.execute(
                        update(meters)
                        .where(meters.c.id == meter.id)
                        .values(revision=new_revision())
                    )
                if new_columns:
                    conn.execute(
                        update(meters)
                        .where(meters.c.id == meter.id)
                        .values(columns=[*meter.columns, *new_columns])
                    )
                if upload is not None:
                    record_upload(conn, meter.id, upload, rd.insert_for(conn))
            if staged is not None:
                rd.unstage(conn)
        inserted = len(rows) - unchanged - len(differing)
        conflicts = rd.index_from_us(differing, meter.timezone)
        return ImportResult(
            name, on_conflict, created, inserted, unchanged, len(differing), conflicts
        )

    def load(
        self, name: str, *, owner: str | None = None, start: Any = None, end: Any = None
    ) -> pd.DataFrame:
        """The meter's readings as the canonical frame (``start <= timestamp < end`` when given)."""
        with self.store.reading() as conn:
            meter = self.find_in(conn, name, owner)
            lo = None if start is None else rd.to_us(start, meter.timezone)
            hi = None if end is None else rd.to_us(end, meter.timezone)
            rows = rd.load_rows(conn, meter.id, lo, hi)
        step_s = None if meter.step is None else int(meter.step.total_seconds())
        return rd.frame_from_rows(rows, meter.columns, meter.timezone, step_s)

    def get(self, name: str, *, owner: str | None = None) -> Meter:
        """One meter with its reading count and span; a DataError when there is none."""
        found = [m for m in self.list(owner=owner) if m.name == name]
        if not found:
            raise NotFoundError(self._missing(name, owner))
        return found[0]

    def list(self, *, owner: str | None = None) -> list[Meter]:
        """Every meter of ``owner`` (the workspace by default) by name, with counts and spans."""
        r = readings_table
        stats = (
            select(
                r.c.meter_id,
                func.count().label("n"),
                func.min(r.c.ts).label("first"),
                func.max(r.c.ts).label("last"),
            )
            .group_by(r.c.meter_id)
            .subquery()
        )
        query = (
            select(meters, stats.c.n, stats.c.first, stats.c.last)
            .outerjoin(stats, stats.c.meter_id == meters.c.id)
            .where(_owner_is(owner))
            .order_by(meters.c.name)
        )
        with self.store.reading() as conn:
            found = conn.execute(query).mappings().all()
        return [
            _meter(
                m,
                readings=int(m["n"] or 0),
                first=rd.from_us(m["first"], m["timezone"]),
                last=rd.from_us(m["last"], m["timezone"]),
            )
            for m in found
        ]

    def names(self, *, owner: str | None = None) -> list[str]:
        """The names of ``owner``'s meters, sorted: one look at the meters table, no readings."""
        query = select(meters.c.name).where(_owner_is(owner)).order_by(meters.c.name)
        with self.store.reading() as conn:
            return list(conn.scalars(query))

    def revision(self, name: str, *, owner: str | None = None) -> str:
        """A 64-hex token that changes whenever the meter's readings do (the app's cache key).

        ``meters.revision`` is a random token drawn when the meter is created and drawn again by
        every import that writes a reading, replaces one or adds a covariate (in the same
        transaction), so nothing a process writes can keep an old revision: a replaced value, a
        replaced covariate, a meter deleted and created again with other readings. An import that
        changes nothing keeps it. One indexed row read, whatever the meter's length.
        """
        with self.store.reading() as conn:
            meter = self.find_in(conn, name, owner)
            token = conn.execute(
                select(meters.c.revision).where(meters.c.id == meter.id)
            ).scalar_one()
        return token or hashlib.sha256(repr([meter.id, meter.created]).encode()).hexdigest()

    def delete(self, name: str, *, owner: str | None = None) -> int:
        """Delete a meter with its readings, uploads, runs and labels; returns the readings removed."""
        with self.store.writing() as conn:
            meter = self.find_in(conn, name, owner)
            count = conn.scalar(
                select(func.count())
                .select_from(readings_table)
                .where(readings_table.c.meter_id == meter.id)
            )
            _lock_meter(conn, meter)
            shas = meter_blobs(conn, meter.id)
            conn.execute(readings_table.delete().where(readings_table.c.meter_id == meter.id))
            conn.execute(meters.delete().where(meters.c.id == meter.id))
            remove_unused_blobs(conn, self.store.home, shas)
        return int(count or 0)

    # ---- helpers ------------------------------------------------------------------------------
    def _missing(self, name: str, owner: str | None) -> str:
        # the owner's own names only: naming another owner's meters would leak that they exist
        names = self.names(owner=owner)
        known = f"; stored meters: {', '.join(names[:10])}" if names else "; none is stored yet"
        return f"no meter named {name!r} in {self.store.where}{known}."

    def find_in(self, conn: Connection, name: str, owner: str | None = None) -> Meter:
        """The meter, read on the caller's connection (its transaction); DataError when absent."""
        row = _find(conn, name, owner)
        if row is None:
            raise NotFoundError(self._missing(name, owner))
        return row

    def _meter_for_import(
        self,
        conn: Connection,
        name: str,
        owner: str | None,
        unit: str | None,
        rows: rd.Rows,
        step_s: int | None,
        site: str | None,
        building_type: str | None,
    ) -> tuple[Meter, bool]:
        meter = _find(conn, name, owner)
        created = False
        if meter is None:
            values = dict(
                name=name,
                owner=owner,
                unit=unit,
                timezone=rows.timezone,
                step_seconds=step_s,
                site=site,
                building_type=building_type,
                columns=list(rows.columns),
                revision=new_revision(),
            )
            # DO NOTHING: another process creating the same meter at this moment wins, we use it
            stmt = rd.insert_for(conn)(meters).values(**values).on_conflict_do_nothing()
            created = conn.execute(stmt.returning(meters.c.id)).first() is not None
            meter = _find(conn, name, owner)
            assert meter is not None
        _check_compatible(meter, unit, rows, step_s)
        return meter, created


def new_revision() -> str:
    """A fresh revision token: 256 random bits as hex (never repeats in practice)."""
    return secrets.token_hex(32)


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DataError("a meter needs a name.")
    if len(name) > 200:
        raise DataError(f"meter names have at most 200 characters, got {len(name)}.")
    return name


def _check_compatible(meter: Meter, unit: str | None, rows: rd.Rows, step_s: int | None) -> None:
    if unit is not None and meter.unit is not None and unit != meter.unit:
        raise DataError(
            f"meter {meter.name!r} is in {meter.unit}, these readings are in {unit}: "
            "convert them, or import them into another meter."
        )
    if step_s is not None and meter.step is not None and step_s != meter.step.total_seconds():
        raise DataError(
            f"meter {meter.name!r} has a {step_text(meter.step)} step, these readings "
            f"{step_text(pd.Timedelta(seconds=step_s))}: resample them (--freq) first."
        )
    if (meter.timezone is None) != (rows.timezone is None):
        have = meter.timezone or "no time zone"
        got = rows.timezone or "no time zone"
        raise DataError(
            f"meter {meter.name!r} has {have}, these readings {got}: "
            "give both the same kind of timestamps."
        )


def _lock_meter(conn: Connection, meter: Meter) -> None:
    """Queue behind other imports and deletes of this meter (SQLite: the write lock does it)."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        text("SELECT pg_advisory_xact_lock(:cls, :id)"), {"cls": IMPORT_LOCK, "id": meter.id}
    )
    # deleted while we waited? (READ COMMITTED: this statement sees what committed before it)
    if conn.scalar(select(meters.c.id).where(meters.c.id == meter.id)) is None:
        raise DataError(f"meter {meter.name!r} was deleted meanwhile: import it again.")


def _owner_is(owner: str | None):
    return func.coalesce(meters.c.owner, "") == (owner or "")


def _find(conn: Connection, name: str, owner: str | None) -> Meter | None:
    row = (
        conn.execute(select(meters).where(_owner_is(owner), meters.c.name == name))
        .mappings()
        .first()
    )
    return None if row is None else _meter(row)


def _meter(row, **stats) -> Meter:
    step, created = row["step_seconds"], row["created"]
    return Meter(
        id=row["id"],
        name=row["name"],
        owner=row["owner"],
        unit=row["unit"],
        timezone=row["timezone"],
        step=None if step is None else pd.Timedelta(seconds=step),
        site=row["site"],
        building_type=row["building_type"],
        columns=tuple(row["columns"] or ()),
        # SQLite's CURRENT_TIMESTAMP is UTC without saying so
        created=created if created.tzinfo else created.replace(tzinfo=UTC),
        **stats,
    )
