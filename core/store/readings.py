"""Readings between a frame and the ``readings`` table: conversion, staging and the merge by timestamp.

A frame (``DatetimeIndex``, ``value``, numeric covariates) becomes rows ``(ts, value, covariates)``:
``ts`` in microseconds UTC (a naive index as if it were UTC), NaN ``value`` -> NULL, covariates as
canonical JSON text (sorted keys, shortest round-trip floats, missing and non-finite ones left out,
NULL when none), so equal readings are equal text on SQLite and equal ``jsonb`` on PostgreSQL.

Inside the caller's transaction (which holds the meter's import lock): readings outside the
meter's stored span are new for sure and go straight in (``executemany`` on SQLite, ``COPY`` on
PostgreSQL); those inside it are staged in a temporary table the same way, compared with the stored
ones in SQL (``IS NOT DISTINCT FROM``: NULL equals NULL) and merged with one
``INSERT ... SELECT ... ON CONFLICT`` statement (DO NOTHING, or DO UPDATE for ``replace``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset
from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    MetaData,
    Table,
    Text,
    and_,
    cast,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from core.errors import DataError
from core.store.schema import readings

US = 1_000  # nanoseconds per microsecond
STAGING = "wattsup_staging"


@dataclass(frozen=True)
class Rows:
    """A frame as table rows: ``ts`` (int64 us), ``values`` and ``covariates`` (None = NULL)."""

    ts: np.ndarray
    values: np.ndarray  # object: float or None
    covariates: np.ndarray  # object: JSON text or None
    columns: tuple[str, ...]  # covariate names in frame order
    timezone: str | None

    def __len__(self) -> int:
        return len(self.ts)

    def subset(self, mask: np.ndarray) -> Rows:
        return Rows(
            self.ts[mask], self.values[mask], self.covariates[mask], self.columns, self.timezone
        )

    def tuples(self, meter_id: int | None = None) -> list[tuple]:
        """``(ts, value, covariates)`` per row, led by ``meter_id`` when given."""
        cols = [self.ts.tolist(), self.values.tolist(), self.covariates.tolist()]
        if meter_id is not None:
            cols.insert(0, [meter_id] * len(self))
        return list(zip(*cols, strict=True))


def rows_from_frame(frame: pd.DataFrame, name: str) -> Rows:
    """Validate a frame and turn it into rows; a DataError says what is wrong with it."""
    idx = frame.index
    if not isinstance(idx, pd.DatetimeIndex):
        raise DataError(f"{name}: readings need a timestamp index, got {type(idx).__name__}.")
    if "value" not in frame.columns:
        raise DataError(f"{name}: readings need a 'value' column.")
    if idx.hasnans:
        raise DataError(f"{name}: {int(idx.isna().sum())} readings have no timestamp.")
    if not idx.is_unique:
        dupes = idx[idx.duplicated()]
        raise DataError(
            f"{name}: {len(dupes)} duplicate timestamps (first {dupes[0]}): clean the file first."
        )
    timezone = None if idx.tz is None else str(idx.tz)
    utc = idx if idx.tz is None else idx.tz_convert("UTC").tz_localize(None)
    if utc.unit == "ns" and (utc.asi8 % US).any():
        raise DataError(f"{name}: timestamps finer than a microsecond cannot be stored.")
    ts = utc.as_unit("us").asi8.astype(np.int64)
    value = _numeric(frame["value"], "value", name)
    values = np.where(np.isnan(value), None, value.astype(object))
    columns = tuple(str(c) for c in frame.columns if c != "value")
    covs = {c: _numeric(frame[c], c, name) for c in columns}
    covariates = np.empty(len(frame), dtype=object)
    covariates[:] = covariate_json(covs, len(frame))
    return Rows(ts, values, covariates, columns, timezone)


def _numeric(series: pd.Series, column: str, name: str) -> np.ndarray:
    try:
        return pd.to_numeric(series, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise DataError(
            f"{name}: column {column!r} is not numeric; the store keeps numbers only."
        ) from None


def covariate_json(covs: dict[str, np.ndarray], n: int) -> list[str | None]:
    """Canonical JSON text per row (see the module docstring)."""
    if not covs:
        return [None] * n
    keys = sorted(covs)
    quoted = [json.dumps(k) + ":" for k in keys]
    # non-finite -> NaN, which fails x == x below and is left out; repr is the shortest text that
    # reads back as the same float (and the fastest way to it: numpy's astype(str) is slower)
    cols = [np.where(np.isfinite(covs[k]), covs[k], np.nan).tolist() for k in keys]
    if len(keys) == 1:
        q = quoted[0]
        return [f"{{{q}{x!r}}}" if x == x else None for x in cols[0]]
    out: list[str | None] = []
    for row in zip(*cols, strict=True):
        items = [f"{q}{x!r}" for q, x in zip(quoted, row, strict=True) if x == x]
        out.append("{" + ",".join(items) + "}" if items else None)
    return out


def frame_from_rows(
    rows: Sequence[Sequence], columns: tuple[str, ...], timezone: str | None, step_s: int | None
) -> pd.DataFrame:
    """Rows ``(ts, value, covariates text)`` in time order -> the canonical frame."""
    ts_col, value_col, cov_col = zip(*rows, strict=True) if rows else ((), (), ())
    ts = np.array(ts_col, dtype=np.int64)
    idx = _index(ts, timezone, step_s)
    frame = pd.DataFrame({"value": np.array(value_col, dtype=float)}, index=idx)
    if columns:
        parsed = json.loads("[" + ",".join(c or "{}" for c in cov_col) + "]")
        extra = pd.DataFrame.from_records(parsed, columns=list(columns))
        for c in columns:
            frame[c] = extra[c].to_numpy(dtype=float, na_value=np.nan)
    return frame


def _index(ts: np.ndarray, timezone: str | None, step_s: int | None) -> pd.DatetimeIndex:
    """The ``timestamp`` index (ns, like parse_upload's), with ``freq`` when on the meter's grid."""
    step_us = None if step_s is None else step_s * 1_000_000
    if step_us and len(ts) > 1 and (np.diff(ts) == step_us).all():
        offset = to_offset(pd.Timedelta(seconds=step_s))
        start = pd.Timestamp(int(ts[0]), unit="us")
        if timezone is not None:
            start = start.tz_localize("UTC").tz_convert(timezone)
        grid = pd.date_range(start, periods=len(ts), freq=offset, name="timestamp", unit="ns")
        utc = grid if timezone is None else grid.tz_convert("UTC").tz_localize(None)
        if (utc.asi8 // 1000 == ts).all():  # a daily step across DST in local time is not a grid
            return grid
    return index_from_us(ts, timezone)


def index_from_us(ts: np.ndarray, timezone: str | None) -> pd.DatetimeIndex:
    """Stored microseconds -> a ``timestamp`` index (ns) in the meter's time zone."""
    idx = pd.DatetimeIndex(np.asarray(ts, dtype=np.int64).astype("datetime64[us]"))
    idx = idx.as_unit("ns").rename("timestamp")
    return idx if timezone is None else idx.tz_localize("UTC").tz_convert(timezone)


# ---- SQL: stage, compare, merge ------------------------------------------------------------------
def insert_for(conn: Connection):
    """The dialect's ``insert`` (for ON CONFLICT)."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def stored_span(conn: Connection, meter_id: int) -> tuple[int, int] | None:
    """(first, last) stored ts of a meter, None when it has no readings (two index probes)."""
    where = readings.c.meter_id == meter_id
    first = conn.scalar(select(func.min(readings.c.ts)).where(where))
    if first is None:
        return None
    return int(first), int(conn.scalar(select(func.max(readings.c.ts)).where(where)))


def insert_new(conn: Connection, meter_id: int, rows: Rows) -> None:
    """Write readings the meter cannot have yet (outside its stored span, under the import lock)."""
    if not len(rows):
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, "readings (meter_id, ts, value, covariates)", rows.tuples(meter_id))
    else:
        conn.exec_driver_sql(
            "INSERT INTO readings (meter_id, ts, value, covariates) VALUES (?, ?, ?, ?)",
            rows.tuples(meter_id),
        )


def _copy(conn: Connection, target: str, tuples: list[tuple]) -> None:
    """PostgreSQL's COPY FROM STDIN inside the connection's transaction (the fast bulk path)."""
    cursor = conn.connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for row in tuples:
            copy.write_row(row)


def stage(conn: Connection, rows: Rows) -> Table:
    """Copy the rows into a temporary table of this transaction; returns the table."""
    pg = conn.dialect.name == "postgresql"
    table = Table(
        STAGING,
        MetaData(),
        Column("ts", BigInteger, primary_key=True),
        Column("value", Double),
        Column("covariates", JSONB if pg else Text),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    if not pg:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGING}")
    table.create(conn)
    if pg:
        _copy(conn, f"{STAGING} (ts, value, covariates)", rows.tuples())
    else:
        conn.exec_driver_sql(
            f"INSERT INTO temp.{STAGING} (ts, value, covariates) VALUES (?, ?, ?)", rows.tuples()
        )
    return table


def unstage(conn: Connection) -> None:
    """Drop the staging table (PostgreSQL drops it at commit by itself)."""
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGING}")


def _same(staged: Table):
    return and_(
        readings.c.value.is_not_distinct_from(staged.c.value),
        readings.c.covariates.is_not_distinct_from(staged.c.covariates),
    )


def compare(conn: Connection, staged: Table, meter_id: int) -> tuple[int, np.ndarray]:
    """(staged readings already stored as they are, ts of those stored with another value)."""
    overlap = readings.join(
        staged, and_(readings.c.meter_id == meter_id, readings.c.ts == staged.c.ts)
    )
    unchanged = conn.scalar(select(func.count()).select_from(overlap).where(_same(staged)))
    differing = conn.scalars(
        select(staged.c.ts).select_from(overlap).where(not_(_same(staged))).order_by(staged.c.ts)
    ).all()
    return int(unchanged or 0), np.asarray(differing, dtype=np.int64)


def merge(conn: Connection, staged: Table, meter_id: int, *, replace: bool) -> int:
    """Insert the staged readings; stored ones stay unless ``replace``. Returns rows written."""
    insert = insert_for(conn)
    source = select(literal(meter_id), staged.c.ts, staged.c.value, staged.c.covariates)
    # SQLite reads "INSERT ... SELECT ... ON CONFLICT" unambiguously only with a WHERE clause
    source = source.where(staged.c.ts.is_not(None))
    stmt = insert(readings).from_select(["meter_id", "ts", "value", "covariates"], source)
    keys = [readings.c.meter_id, readings.c.ts]
    if replace:
        new = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={"value": new.value, "covariates": new.covariates},
            where=or_(
                readings.c.value.is_distinct_from(new.value),
                readings.c.covariates.is_distinct_from(new.covariates),
            ),
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    return conn.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount


def load_rows(
    conn: Connection, meter_id: int, start_us: int | None = None, end_us: int | None = None
) -> Sequence[Sequence]:
    """A meter's rows ``(ts, value, covariates text)`` in time order, ``start <= ts < end``."""
    query = select(readings.c.ts, readings.c.value, cast(readings.c.covariates, Text)).where(
        readings.c.meter_id == meter_id
    )
    if start_us is not None:
        query = query.where(readings.c.ts >= start_us)
    if end_us is not None:
        query = query.where(readings.c.ts < end_us)
    result = conn.execute(query.order_by(readings.c.ts))
    try:  # plain tuples straight from the driver: a Row object per reading costs more than the rest
        return result.cursor.fetchall()
    finally:
        result.close()


def to_us(when, timezone: str | None) -> int:
    """A time (anything ``pd.Timestamp`` reads) as stored microseconds for a meter in ``timezone``."""
    stamp = pd.Timestamp(when)
    if stamp.tz is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    elif timezone is not None:
        stamp = stamp.tz_localize(timezone).tz_convert("UTC").tz_localize(None)
    return int(stamp.as_unit("ns").value) // US


def from_us(ts: int | None, timezone: str | None) -> pd.Timestamp | None:
    """Stored microseconds -> a timestamp in the meter's time zone (naive when it has none)."""
    if ts is None:
        return None
    stamp = pd.Timestamp(int(ts), unit="us")
    return stamp if timezone is None else stamp.tz_localize("UTC").tz_convert(timezone)
