"""People's labels per stored meter, checked before anything is written.

``SqlLabelRepository`` (behind the ``LabelRepository`` Protocol) holds what a person said about a
span of a meter's readings: ``real`` (an anomaly; a ``real`` span without an event is one the
detector missed), ``not_anomaly`` or ``expected`` (planned work, a holiday, a known shutdown), with a
note, who and when, and the stored event it judges (``event_id``). Bad input gets one message each,
and a batch (``add_many``: a label file, an upload's label column) is written whole or not at all:

* a span outside the meter's readings (``first .. last`` stored time);
* a span that overlaps a label with the other meaning (``real`` against ``not_anomaly``/``expected``),
  stored or in the same batch;
* an unknown event id (or one of another meter or owner: the same "not found");
* a label file without the columns ``start, end, verdict`` (``read_label_file``).

Model versions live in ``core.store.model_versions``. Owners: every call takes ``owner`` and sees only that owner's meters.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from core.errors import DataError
from core.store import readings as rd
from core.store.db import NotFoundError, Store
from core.store.meters import Meter, SqlMeterRepository
from core.store.schema import (
    VERDICTS,
    detection_runs,
    labels,
)
from core.store.schema import events as events_table

LABEL_COLUMNS = ("id", "start", "end", "verdict", "note", "author", "created", "event_id")
FILE_COLUMNS = ("start", "end", "verdict")  # a label file needs these; note and author are optional
POSITIVE = "real"


class LabelRepository(Protocol):
    """Where labels live."""

    def add(self, meter: str, start: Any, end: Any, verdict: str, **kw: Any) -> int: ...

    def add_many(self, meter: str, spans: pd.DataFrame, **kw: Any) -> list[int]: ...

    def list(self, meter: str, *, owner: str | None = None) -> pd.DataFrame: ...

    def delete(self, meter: str, label_id: int, *, owner: str | None = None) -> None: ...

    def dismissed_events(self, meter: str, *, owner: str | None = None) -> pd.DataFrame: ...


class SqlLabelRepository:
    """``LabelRepository`` over a :class:`~core.store.db.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._meters = SqlMeterRepository(store)

    # ---- labels -------------------------------------------------------------------------------
    def add(
        self,
        meter: str,
        start: Any,
        end: Any,
        verdict: str,
        *,
        note: str | None = None,
        author: str | None = None,
        event_id: int | None = None,
        owner: str | None = None,
    ) -> int:
        """Record one label; returns its id (a DataError, and nothing written, for bad input)."""
        spans = pd.DataFrame(
            [{"start": start, "end": end, "verdict": verdict, "note": note, "event_id": event_id}]
        )
        return self.add_many(meter, spans, author=author, owner=owner)[0]

    def add_many(
        self,
        meter: str,
        spans: pd.DataFrame,
        *,
        author: str | None = None,
        owner: str | None = None,
    ) -> list[int]:
        """Record every row of ``spans`` (``start, end, verdict`` [, ``note``, ``author``,
        ``event_id``]) in one transaction: all of them, or none when one is bad."""
        _check_columns(spans, "labels")
        with self.store.writing() as conn:
            m = self._meters.find_in(conn, meter, owner)
            rows = [
                self._row(conn, m, i, row, author, owner) for i, row in enumerate(_records(spans))
            ]
            _check_disagreements(rows, self._stored(conn, m), m)
            if not rows:
                return []
            ids = conn.execute(labels.insert().returning(labels.c.id), rows).scalars().all()
        return [int(i) for i in ids]

    def list(self, meter: str, *, owner: str | None = None) -> pd.DataFrame:
        """The meter's labels (``LABEL_COLUMNS``) in time order; times in the meter's zone."""
        with self.store.reading() as conn:
            m = self._meters.find_in(conn, meter, owner)
            stored = self._stored(conn, m, all_columns=True)
        frame = pd.DataFrame(stored, columns=list(LABEL_COLUMNS))
        for col in ("start", "end"):
            frame[col] = rd.index_from_us(frame[col].to_numpy(dtype=np.int64), m.timezone).rename(
                None
            )
        frame["event_id"] = frame["event_id"].astype("Int64")
        return frame

    def delete(self, meter: str, label_id: int, *, owner: str | None = None) -> None:
        """Remove one label; a NotFoundError when the meter has no label ``label_id``."""
        with self.store.writing() as conn:
            m = self._meters.find_in(conn, meter, owner)
            gone = conn.execute(
                delete(labels).where(labels.c.id == label_id, labels.c.meter_id == m.id)
            ).rowcount
        if not gone:
            raise NotFoundError(f"meter {meter} has no label {label_id}: list its labels first.")

    def export_csv(self, meter: str, *, owner: str | None = None) -> str:
        """The labels as CSV (``start, end, verdict, note, author, created, event_id``)."""
        frame = self.list(meter, owner=owner).drop(columns="id")
        return frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S%z")

    def dismissed_events(self, meter: str, *, owner: str | None = None) -> pd.DataFrame:
        """Spans labelled ``not_anomaly``/``expected``: ``start, end, verdict, type, excess`` (type
        and excess of the event the label judges; NaN for a span without one), for suppression."""
        e = events_table
        query = (
            select(labels.c.start_ts, labels.c.end_ts, labels.c.verdict, e.c.type, e.c.excess)
            .select_from(labels.outerjoin(e, e.c.id == labels.c.event_id))
            .where(labels.c.verdict.in_(("not_anomaly", "expected")))
        )
        with self.store.reading() as conn:
            m = self._meters.find_in(conn, meter, owner)
            rows = conn.execute(query.where(labels.c.meter_id == m.id)).all()
        frame = pd.DataFrame(rows, columns=["start", "end", "verdict", "type", "excess"])
        for col in ("start", "end"):
            frame[col] = rd.index_from_us(frame[col].to_numpy(dtype=np.int64), m.timezone).rename(
                None
            )
        frame["excess"] = frame["excess"].astype(float)
        return frame

    # ---- internals ------------------------------------------------------------------------------
    def _stored(self, conn: Connection, m: Meter, *, all_columns: bool = False) -> list[tuple]:
        cols = (
            [
                labels.c[c]
                for c in (
                    "id",
                    "start_ts",
                    "end_ts",
                    "verdict",
                    "note",
                    "author",
                    "created",
                    "event_id",
                )
            ]
            if all_columns
            else [labels.c.start_ts, labels.c.end_ts, labels.c.verdict]
        )
        query = (
            select(*cols).where(labels.c.meter_id == m.id).order_by(labels.c.start_ts, labels.c.id)
        )
        return [tuple(r) for r in conn.execute(query).all()]

    def _row(
        self,
        conn: Connection,
        m: Meter,
        i: int,
        row: dict[str, Any],
        author: str | None,
        owner: str | None,
    ) -> dict[str, Any]:
        where = f"label {i + 1}" if i else "the label"
        verdict = str(row.get("verdict") or "").strip()
        if verdict not in VERDICTS:
            raise DataError(
                f"{where}: verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}."
            )
        event_id = _optional_int(row.get("event_id"), where)
        start, end = row.get("start"), row.get("end")
        if event_id is not None:
            span = _event_span(conn, event_id, m)
            start = span[0] if _missing(start) else rd.to_us(start, m.timezone)
            end = span[1] if _missing(end) else rd.to_us(end, m.timezone)
        else:
            start, end = _time(start, m, where, "start"), _time(end, m, where, "end")
        if end < start:
            raise DataError(f"{where} ends before it starts: swap start and end.")
        data = rd.stored_span(conn, m.id)
        if data is None or start < data[0] or end > data[1]:
            have = (
                "no readings"
                if data is None
                else f"readings from {rd.from_us(data[0], m.timezone)} to {rd.from_us(data[1], m.timezone)}"
            )
            raise DataError(
                f"{where} ({rd.from_us(start, m.timezone)} to {rd.from_us(end, m.timezone)}) is outside "
                f"meter {m.name}'s data ({have}): label a span inside it."
            )
        note = row.get("note")
        return {
            "meter_id": m.id,
            "start_ts": int(start),
            "end_ts": int(end),
            "verdict": verdict,
            "note": None if _missing(note) else str(note),
            "author": author if _missing(row.get("author")) else str(row.get("author")),
            "event_id": event_id,
        }


def read_label_file(data: bytes, name: str = "labels.csv") -> pd.DataFrame:
    """A label CSV (as ``export_csv`` writes it) as spans; a DataError naming the missing columns."""
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as err:
        raise DataError(
            f"{name} is not a CSV file ({err}): export labels to see the format."
        ) from err
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    _check_columns(frame, name)
    return frame.replace({"": None})


def spans_from_column(
    label: pd.Series, *, note: str = "from the upload's label column"
) -> pd.DataFrame:
    """Runs of 1 in an upload's 0/1 label column as ``real`` spans (0 and NaN are left unlabelled:
    a file's 0 says nobody marked it, not that a person dismissed an event)."""
    y = label.to_numpy(dtype=float) == 1.0
    edges = np.diff(np.r_[0, y.astype(np.int8), 0])
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return pd.DataFrame(
        {
            "start": label.index[starts],
            "end": label.index[stops],
            "verdict": POSITIVE,
            "note": note,
        }
    )


# ---- helpers --------------------------------------------------------------------------------------
def _check_columns(frame: pd.DataFrame, name: str) -> None:
    cols = {str(c) for c in frame.columns}
    has_event = "event_id" in cols
    missing = [c for c in FILE_COLUMNS if c not in cols and not (has_event and c != "verdict")]
    if missing:
        raise DataError(
            f"{name} has no column {', '.join(missing)} (columns: {', '.join(sorted(cols)) or 'none'}): "
            "a label file needs start, end and verdict (note and author optional)."
        )


def _records(spans: pd.DataFrame) -> list[dict[str, Any]]:
    return spans.to_dict("records")


def _missing(x: Any) -> bool:
    return (
        x is None
        or (isinstance(x, float) and np.isnan(x))
        or x is pd.NaT
        or (isinstance(x, str) and not x.strip())
    )


def _optional_int(x: Any, where: str) -> int | None:
    if _missing(x) or x is pd.NA:
        return None
    try:
        return int(x)
    except (TypeError, ValueError) as err:
        raise DataError(f"{where}: event id {x!r} is not a number.") from err


def _time(x: Any, m: Meter, where: str, what: str) -> int:
    if _missing(x):
        raise DataError(f"{where} has no {what}: give a time such as 2016-04-01 08:00.")
    try:
        return rd.to_us(x, m.timezone)
    except (TypeError, ValueError) as err:
        raise DataError(f"{where}: {what} {x!r} is not a time (e.g. 2016-04-01 08:00).") from err


def _event_span(conn: Connection, event_id: int, m: Meter) -> tuple[int, int]:
    e = events_table
    row = conn.execute(
        select(e.c.start_ts, e.c.end_ts)
        .join(detection_runs, detection_runs.c.id == e.c.run_id)
        .where(e.c.id == event_id, detection_runs.c.meter_id == m.id)
    ).first()
    if row is None:
        raise NotFoundError(
            f"meter {m.name} has no detection event {event_id}: list its events first."
        )
    return int(row[0]), int(row[1])


def _positive(verdict: str) -> bool:
    return verdict == POSITIVE


def _check_disagreements(new: list[dict[str, Any]], stored: list[tuple], m: Meter) -> None:
    """Two overlapping spans, one saying anomaly and one saying not: a DataError naming both."""
    spans = [
        (r["start_ts"], r["end_ts"], r["verdict"], f"new label {i + 1}") for i, r in enumerate(new)
    ]
    spans += [(s, e, v, "a stored label") for s, e, v in stored]
    spans.sort(key=lambda s: s[0])
    newest_end = {True: None, False: None}  # per meaning: the open span reaching furthest
    for start, end, verdict, what in spans:
        other = newest_end[not _positive(verdict)]
        if (
            other is not None
            and other[0] >= start
            and (what.startswith("new") or other[2].startswith("new"))
        ):
            t = rd.from_us(start, m.timezone)
            raise DataError(
                f"{what} ({verdict}) overlaps {other[2]} ({other[1]}) at {t}: labels that disagree "
                "cannot overlap; delete one or shorten it."
            )
        mine = newest_end[_positive(verdict)]
        if mine is None or end > mine[0]:
            newest_end[_positive(verdict)] = (end, verdict, what)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
