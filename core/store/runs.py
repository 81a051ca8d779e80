"""Detection runs with their events, people's labels, and the model registry, per stored meter.

The store sits below ``core.detect``, so it takes plain values: the threshold settings as a mapping
(``dataclasses.asdict(ThresholdSettings)``) and the events as the frame ``find_events`` returns
(``start, end, type, peak_score, mean_score, excess, cause``; other columns are not stored;
``mean_score`` may be absent: NULL, as for runs recorded before it existed). Times are in the
meter's time zone, as its frame is. ``SqlRunRepository`` is the one ``RunRepository``. A stored
event has an id of its own (``events(run, ids=True)``, ``event(id)``), so a person can label it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from core.errors import DataError
from core.store import readings as rd
from core.store.db import NotFoundError, Store
from core.store.labels import SqlLabelRepository
from core.store.meters import Meter, SqlMeterRepository
from core.store.schema import detection_runs, labels, meters, models
from core.store.schema import events as events_table

EVENT_COLUMNS = ("start", "end", "type", "peak_score", "mean_score", "excess", "cause")
OPTIONAL_COLUMNS = ("mean_score",)  # stored NULL when a frame lacks it


@dataclass(frozen=True)
class Run:
    """A recorded detection run (``events`` is the count; ``SqlRunRepository.events`` the rows)."""

    id: int
    meter: str
    detector: str
    threshold: dict[str, Any]
    model_id: int | None
    data_from: pd.Timestamp | None
    data_to: pd.Timestamp | None
    points: int
    flagged: int
    events: int
    energy_unit: str | None
    created: datetime


@dataclass(frozen=True)
class StoredEvent:
    """One recorded event, with the run and the meter it belongs to."""

    id: int
    run_id: int
    meter: str
    start: pd.Timestamp
    end: pd.Timestamp
    type: str
    peak_score: float | None
    excess: float | None
    cause: str | None
    mean_score: float | None = None


class RunRepository(Protocol):
    """Where detection runs, their events and labels are kept."""

    def record(
        self,
        meter: str,
        *,
        detector: str,
        threshold: Mapping[str, Any],
        events: pd.DataFrame,
        points: int,
        flagged: int,
        energy_unit: str | None = None,
        model_id: int | None = None,
        data_from: Any = None,
        data_to: Any = None,
        owner: str | None = None,
    ) -> Run: ...

    def last(self, meter: str, *, owner: str | None = None) -> Run | None: ...

    def run(self, meter: str, run_id: int, *, owner: str | None = None) -> Run: ...

    def runs(self, meter: str, *, owner: str | None = None, limit: int = 20) -> list[Run]: ...

    def events(self, run: Run, *, ids: bool = False) -> pd.DataFrame: ...

    def event(self, event_id: int, *, owner: str | None = None) -> StoredEvent: ...

    def add_label(
        self,
        meter: str,
        start: Any,
        end: Any,
        verdict: str,
        *,
        note: str | None = None,
        author: str | None = None,
        owner: str | None = None,
        event_id: int | None = None,
    ) -> int: ...

    def labels(self, meter: str, *, owner: str | None = None) -> pd.DataFrame: ...


class SqlRunRepository:
    """``RunRepository`` over a :class:`~core.store.db.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._meters = SqlMeterRepository(store)

    def record(
        self,
        meter: str,
        *,
        detector: str,
        threshold: Mapping[str, Any],
        events: pd.DataFrame,
        points: int,
        flagged: int,
        energy_unit: str | None = None,
        model_id: int | None = None,
        data_from: Any = None,
        data_to: Any = None,
        owner: str | None = None,
    ) -> Run:
        """Store one run and its events in one transaction; returns the run as stored."""
        missing = [
            c for c in EVENT_COLUMNS if c not in events.columns and c not in OPTIONAL_COLUMNS
        ]
        if missing:
            raise DataError(f"events need the columns {', '.join(missing)}.")
        with self.store.writing() as conn:
            m = self._meter(conn, meter, owner)
            run_id = conn.execute(
                detection_runs.insert()
                .values(
                    meter_id=m.id,
                    model_id=model_id,
                    detector=detector,
                    threshold=_plain(dict(threshold)),
                    data_from=_us(data_from, m),
                    data_to=_us(data_to, m),
                    points=int(points),
                    flagged=int(flagged),
                    events=len(events),
                    energy_unit=energy_unit,
                )
                .returning(detection_runs.c.id)
            ).scalar_one()
            if len(events):
                conn.execute(events_table.insert(), _event_rows(run_id, events, m))
            row = conn.execute(_runs_query(m.id).where(detection_runs.c.id == run_id)).first()
        return _run(row, m.name, m.timezone)

    def last(self, meter: str, *, owner: str | None = None) -> Run | None:
        """The newest run on the meter, None when it has none."""
        found = self.runs(meter, owner=owner, limit=1)
        return found[0] if found else None

    def run(self, meter: str, run_id: int, *, owner: str | None = None) -> Run:
        """One run of the meter by id; a NotFoundError when the meter has no such run."""
        with self.store.reading() as conn:
            m = self._meter(conn, meter, owner)
            row = conn.execute(_runs_query(m.id).where(detection_runs.c.id == run_id)).first()
        if row is None:
            raise NotFoundError(f"meter {m.name!r} has no detection run {run_id}.")
        return _run(row, m.name, m.timezone)

    def runs(self, meter: str, *, owner: str | None = None, limit: int = 20) -> list[Run]:
        """The meter's runs, newest first."""
        with self.store.reading() as conn:
            m = self._meter(conn, meter, owner)
            query = _runs_query(m.id).order_by(
                detection_runs.c.created.desc(), detection_runs.c.id.desc()
            )
            rows = conn.execute(query.limit(limit)).all()
        return [_run(r, m.name, m.timezone) for r in rows]

    def events(self, run: Run, *, ids: bool = False) -> pd.DataFrame:
        """The run's events (``EVENT_COLUMNS``) in time order; with
        ``ids`` an ``id`` column first (the stored event's id, for ``event`` and labels)."""
        e = events_table
        # the run's own meter (by the run's id): a run was found through its owner already, and a
        # look-up by name would need that owner again
        zone = (
            select(meters.c.timezone)
            .join(detection_runs, detection_runs.c.meter_id == meters.c.id)
            .where(detection_runs.c.id == run.id)
        )
        query = (
            select(e.c.id, e.c.start_ts, e.c.end_ts, *[e.c[c] for c in EVENT_COLUMNS[2:]])
            .where(e.c.run_id == run.id)
            .order_by(e.c.start_ts, e.c.id)
        )
        with self.store.reading() as conn:
            tz = conn.scalar(zone)
            rows = conn.execute(query).all()
        frame = pd.DataFrame(rows, columns=["id", *EVENT_COLUMNS])
        for col in ("start", "end"):
            frame[col] = rd.index_from_us(frame[col].to_numpy(dtype=np.int64), tz).rename(None)
        return frame if ids else frame.drop(columns="id")

    def event(self, event_id: int, *, owner: str | None = None) -> StoredEvent:
        """One recorded event by id (of a meter of ``owner``); a NotFoundError when there is none."""
        e = events_table
        query = (
            select(e, meters.c.name, meters.c.timezone)
            .join(detection_runs, detection_runs.c.id == e.c.run_id)
            .join(meters, meters.c.id == detection_runs.c.meter_id)
            .where(e.c.id == event_id, func.coalesce(meters.c.owner, "") == (owner or ""))
        )
        with self.store.reading() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFoundError(f"no detection event {event_id}: list a meter's events first.")
        tz = row["timezone"]
        return StoredEvent(
            id=row["id"],
            run_id=row["run_id"],
            meter=row["name"],
            start=rd.from_us(row["start_ts"], tz),
            end=rd.from_us(row["end_ts"], tz),
            type=row["type"],
            peak_score=row["peak_score"],
            excess=row["excess"],
            cause=row["cause"],
            mean_score=row["mean_score"],
        )

    def add_label(
        self,
        meter: str,
        start: Any,
        end: Any,
        verdict: str,
        *,
        note: str | None = None,
        author: str | None = None,
        owner: str | None = None,
        event_id: int | None = None,
    ) -> int:
        """Record what a person said about a span; returns the label's id. The checks (span inside
        the meter's data, no overlap that disagrees, the event is the meter's) are
        ``core.store.labels.SqlLabelRepository``'s: one message each, nothing written."""
        return SqlLabelRepository(self.store).add(
            meter, start, end, verdict, note=note, author=author, event_id=event_id, owner=owner
        )

    def labels(self, meter: str, *, owner: str | None = None) -> pd.DataFrame:
        """The meter's labels: ``start, end, verdict, note, author, created``, in time order."""
        cols = [labels.c[c] for c in ("start_ts", "end_ts", "verdict", "note", "author", "created")]
        with self.store.reading() as conn:
            m = self._meter(conn, meter, owner)
            rows = conn.execute(
                select(*cols).where(labels.c.meter_id == m.id).order_by(labels.c.start_ts)
            ).all()
        frame = pd.DataFrame(rows, columns=["start", "end", "verdict", "note", "author", "created"])
        for col in ("start", "end"):
            frame[col] = rd.index_from_us(frame[col].to_numpy(dtype=np.int64), m.timezone)
        return frame

    def _meter(self, conn: Connection, name: str, owner: str | None) -> Meter:
        return self._meters.find_in(conn, name, owner)


def register_model(
    store: Store,
    *,
    detector: str,
    settings: Mapping[str, Any],
    key: str,
    artefact_path: str,
    library_versions: Mapping[str, Any],
    trained_from: Any = None,
    trained_to: Any = None,
    meter: str | None = None,
) -> tuple[int, int]:
    """Add a fitted model to the registry as the next version of ``key``: (model id, version)."""
    with store.writing() as conn:
        m = None if meter is None else SqlMeterRepository(store).find_in(conn, meter, None)
        version = 1 + (
            conn.scalar(select(func.max(models.c.version)).where(models.c.key == key)) or 0
        )
        model_id = conn.execute(
            models.insert()
            .values(
                meter_id=None if m is None else m.id,
                detector=detector,
                settings=_plain(dict(settings)),
                key=key,
                version=version,
                trained_from=None if trained_from is None else rd.to_us(trained_from, None),
                trained_to=None if trained_to is None else rd.to_us(trained_to, None),
                library_versions=_plain(dict(library_versions)),
                artefact_path=str(artefact_path),
            )
            .returning(models.c.id)
        ).scalar_one()
    return int(model_id), version


def latest_model(store: Store, key: str) -> int | None:
    """The id of the newest registered version of ``key``, None when it was never registered."""
    query = select(models.c.id).where(models.c.key == key).order_by(models.c.version.desc())
    with store.reading() as conn:
        return conn.scalar(query.limit(1))


# ---- helpers --------------------------------------------------------------------------------------
def _event_rows(run_id: int, frame: pd.DataFrame, meter: Meter) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run_id,
            "start_ts": _us(row.start, meter),
            "end_ts": _us(row.end, meter),
            "type": str(row.type),
            "peak_score": _number(row.peak_score),
            "mean_score": _number(row.mean_score),
            "excess": _number(row.excess),
            "cause": None if pd.isna(row.cause) else str(row.cause),
        }
        for row in frame.reindex(columns=list(EVENT_COLUMNS)).itertuples(index=False)
    ]


def _runs_query(meter_id: int):
    return select(detection_runs).where(detection_runs.c.meter_id == meter_id)


def _run(row, meter: str, tz: str | None) -> Run:
    created = row.created if row.created.tzinfo else row.created.replace(tzinfo=UTC)
    return Run(
        id=row.id,
        meter=meter,
        detector=row.detector,
        threshold=dict(row.threshold or {}),
        model_id=row.model_id,
        data_from=rd.from_us(row.data_from, tz),
        data_to=rd.from_us(row.data_to, tz),
        points=row.points,
        flagged=row.flagged,
        events=row.events,
        energy_unit=row.energy_unit,
        created=created,
    )


def _us(when: Any, meter: Meter) -> int | None:
    return None if when is None else rd.to_us(when, meter.timezone)


def _number(x: Any) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, tuples to lists, non-finite floats to None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
