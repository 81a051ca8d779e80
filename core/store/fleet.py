"""Fleet runs and their portfolio rows: written as meters finish, read back by the Portfolio page.

The store sits below ``core.fleet``, so it takes plain values: a run's settings as a mapping and
each row as a mapping with the keys of ``ROW_KEYS`` (``core.fleet.portfolio.COLUMNS`` plus
``error`` and ``seconds``); times are pandas timestamps (naive, or in the meter's zone), stored as
UTC microseconds with the zone beside them. ``schema.py`` documents the tables.

A run belongs to an ``owner`` (NULL = the workspace); a run of another owner answers "not found"
exactly like a missing one. ``SqlFleetRepository`` is the one ``FleetRepository``.

A run is written in steps, so a fleet of thousands never waits for its last meter to show:
``start`` (the run row), ``add_rows`` (as batches finish; a meter already in the run is replaced),
``finish`` (counts and the finish time). ``latest`` is the newest finished run, else the newest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import case, delete, func, select, update

from core.store import readings as rd
from core.store.db import NotFoundError, Store
from core.store.schema import fleet_rows, fleet_runs

ROW_KEYS: tuple[str, ...] = (
    "meter",
    "site",
    "building_type",
    "unit",
    "points",
    "start",
    "end",
    "last_reading",
    "excess_over_kwh",
    "excess_under_kwh",
    "anomaly_hours",
    "events",
    "open_events",
    "worst_type",
    "worst_cause",
    "worst_start",
    "worst_excess_kwh",
    "missing_share",
    "flat_runs",
    "sparkline",
    "error",
    "seconds",
)
_TIMES = {
    "start": "start_ts",
    "end": "end_ts",
    "last_reading": "last_ts",
    "worst_start": "worst_start_ts",
}


@dataclass(frozen=True)
class FleetRun:
    """One fleet run: what was scored, how, how many meters (and of them failed), when."""

    id: int
    owner: str | None
    source: str
    runner: str
    settings: dict[str, Any]
    meters: int
    failed: int
    created: datetime
    finished: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "runner": self.runner,
            "settings": self.settings,
            "meters": self.meters,
            "failed": self.failed,
            "created": self.created.isoformat(),
            "finished": None if self.finished is None else self.finished.isoformat(),
        }


class FleetRepository(Protocol):
    """Where fleet runs and their rows are kept."""

    def start(
        self, source: str, *, runner: str, settings: Mapping[str, Any], owner: str | None = None
    ) -> FleetRun: ...

    def add_rows(
        self, run_id: int, rows: Iterable[Mapping[str, Any]], *, owner: str | None = None
    ) -> int: ...

    def finish(self, run_id: int, *, owner: str | None = None) -> FleetRun: ...

    def run(self, run_id: int, *, owner: str | None = None) -> FleetRun: ...

    def runs(self, *, owner: str | None = None, limit: int = 20) -> list[FleetRun]: ...

    def latest(self, *, owner: str | None = None) -> FleetRun | None: ...

    def rows(self, run_id: int, *, owner: str | None = None) -> pd.DataFrame: ...


class SqlFleetRepository:
    """``FleetRepository`` over a :class:`~core.store.db.Store` (SQLite or PostgreSQL)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def start(
        self, source: str, *, runner: str, settings: Mapping[str, Any], owner: str | None = None
    ) -> FleetRun:
        """Record a new run (no rows yet, not finished)."""
        with self.store.writing() as conn:
            run_id = conn.execute(
                fleet_runs.insert()
                .values(owner=owner, source=source, runner=runner, settings=_plain(dict(settings)))
                .returning(fleet_runs.c.id)
            ).scalar_one()
            row = conn.execute(select(fleet_runs).where(fleet_runs.c.id == run_id)).first()
        return _run(row)

    def add_rows(
        self, run_id: int, rows: Iterable[Mapping[str, Any]], *, owner: str | None = None
    ) -> int:
        """Write rows into run ``run_id`` in one transaction (a meter's earlier row in it is
        replaced); returns how many were written."""
        values = [_row_values(run_id, r) for r in rows]
        if not values:
            return 0
        with self.store.writing() as conn:
            self._find(conn, run_id, owner)
            names = [v["meter"] for v in values]
            conn.execute(
                delete(fleet_rows).where(
                    fleet_rows.c.run_id == run_id, fleet_rows.c.meter.in_(names)
                )
            )
            conn.execute(fleet_rows.insert(), values)
        return len(values)

    def finish(self, run_id: int, *, owner: str | None = None) -> FleetRun:
        """Count the run's rows (and failures) and mark it finished now."""
        with self.store.writing() as conn:
            self._find(conn, run_id, owner)
            counts = conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((fleet_rows.c.error.is_not(None), 1), else_=0)), 0),
                ).where(fleet_rows.c.run_id == run_id)
            ).one()
            conn.execute(
                update(fleet_runs)
                .where(fleet_runs.c.id == run_id)
                .values(meters=int(counts[0]), failed=int(counts[1]), finished=func.now())
            )
            return _run(self._find(conn, run_id, owner))

    def run(self, run_id: int, *, owner: str | None = None) -> FleetRun:
        """One run by id; NotFoundError when it is not one of ``owner``'s."""
        with self.store.reading() as conn:
            return _run(self._find(conn, run_id, owner))

    def runs(self, *, owner: str | None = None, limit: int = 20) -> list[FleetRun]:
        """``owner``'s runs, newest first."""
        query = (
            select(fleet_runs)
            .where(_owner_is(owner))
            .order_by(fleet_runs.c.created.desc(), fleet_runs.c.id.desc())
            .limit(limit)
        )
        with self.store.reading() as conn:
            return [_run(r) for r in conn.execute(query).all()]

    def latest(self, *, owner: str | None = None) -> FleetRun | None:
        """The newest finished run of ``owner``, else the newest one still writing; None if none."""
        query = (
            select(fleet_runs)
            .where(_owner_is(owner))
            .order_by(
                fleet_runs.c.finished.is_(None), fleet_runs.c.created.desc(), fleet_runs.c.id.desc()
            )
            .limit(1)
        )
        with self.store.reading() as conn:
            row = conn.execute(query).first()
        return None if row is None else _run(row)

    def rows(self, run_id: int, *, owner: str | None = None) -> pd.DataFrame:
        """The run's rows (``ROW_KEYS`` as columns, times in each meter's zone), by meter name."""
        with self.store.reading() as conn:
            self._find(conn, run_id, owner)
            found = (
                conn.execute(
                    select(fleet_rows)
                    .where(fleet_rows.c.run_id == run_id)
                    .order_by(fleet_rows.c.meter)
                )
                .mappings()
                .all()
            )
        out = []
        for r in found:
            row = {k: r[k] for k in ROW_KEYS if k not in _TIMES}
            for key, col in _TIMES.items():
                row[key] = rd.from_us(r[col], r["timezone"])
            row["sparkline"] = list(r["sparkline"] or [])
            out.append(row)
        return pd.DataFrame(out, columns=list(ROW_KEYS))

    def _find(self, conn, run_id: int, owner: str | None):
        row = conn.execute(
            select(fleet_runs).where(fleet_runs.c.id == int(run_id), _owner_is(owner))
        ).first()
        if row is None:
            raise NotFoundError(
                f"no fleet run {run_id}: score a fleet first (python -m core fleet score)."
            )
        return row


def _owner_is(owner: str | None):
    return func.coalesce(fleet_runs.c.owner, "") == (owner or "")


def _run(row) -> FleetRun:
    return FleetRun(
        id=row.id,
        owner=row.owner,
        source=row.source,
        runner=row.runner,
        settings=dict(row.settings or {}),
        meters=row.meters,
        failed=row.failed,
        created=_aware(row.created),
        finished=None if row.finished is None else _aware(row.finished),
    )


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)  # SQLite's CURRENT_TIMESTAMP is UTC


def _row_values(run_id: int, row: Mapping[str, Any]) -> dict[str, Any]:
    meter = str(row["meter"])
    tz = next((_zone(row[k]) for k in _TIMES if getattr(row.get(k), "tzinfo", None)), None)
    values: dict[str, Any] = {"run_id": run_id, "meter": meter[:200], "timezone": tz}
    for key in ROW_KEYS:
        if key == "meter":
            continue
        value = row.get(key)
        if key in _TIMES:
            values[_TIMES[key]] = None if value is None or pd.isna(value) else rd.to_us(value, None)
        elif key == "sparkline":
            values[key] = None if value is None else [_number(v) for v in value]
        elif isinstance(value, float | np.floating):
            values[key] = _number(value)
        elif isinstance(value, np.integer):
            values[key] = int(value)
        else:
            values[key] = value
    return values


def _zone(when: pd.Timestamp) -> str:
    """The zone's name when it reads back (IANA names do); else UTC, where the stamp is stored."""
    name = str(when.tzinfo)
    try:
        pd.Timestamp(0, tz="UTC").tz_convert(name)
    except (ValueError, KeyError, TypeError):
        return "UTC"
    return name


def _plain(value: Any) -> Any:
    """JSON-ready settings: numpy scalars to Python, tuples to lists, non-finite floats to None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _number(x: Any) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)
