"""A readings body -> the frame to store and the readings rejected, each with its row and reason.

Three formats, told apart by ``Content-Type``:

=========================  ===========================================================================
content type               body
=========================  ===========================================================================
``application/json``       ``[{"timestamp": "2024-01-01T00:00:00+01:00", "value": 41.5, "temperature": 3.2}, ...]``
``application/x-ndjson``   the same objects, one per line (blank lines are skipped)
``text/csv``               a header line naming ``timestamp``, ``value`` and any covariates, then one
                           reading per line (comma-separated; an empty cell is a missing number)
=========================  ===========================================================================

A reading is rejected (and the others stored) when it is not an object, has no ``timestamp`` or no
``value`` key, a time that does not read (``core.ingest.timestamps``: ISO 8601, Unix seconds or
milliseconds; years 1900-2199), a time that does not fit the meter (an offset for a meter without a
zone; a local time that daylight saving skips; off the meter's step), a value or covariate that is
not a finite number (``null`` and an empty CSV cell mean missing), or the time of an earlier reading
in the same body. The order of the readings does not matter: they are stored by time.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.api import limits
from core.api.batch_fast import RESERVED, csv_table, object_columns, uniform_readings
from core.api.times import meter_times
from core.errors import DataError
from core.ingest.extract import beyond_any_meter
from core.store.records import Meter

Format = Literal["json", "ndjson", "csv"]
MEDIA: dict[str, Format] = {
    "application/json": "json",
    "application/x-ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/ndjson": "ndjson",
    "text/csv": "csv",
}


@dataclass(frozen=True)
class Rejected:
    row: int
    field: str | None
    reason: str


@dataclass
class Batch:
    """What a body holds: the readings to store (canonical frame, by time) and those rejected."""

    format: Format
    received: int
    frame: pd.DataFrame
    rejected: list[Rejected] = field(default_factory=list)


def body_format(content_type: str) -> Format:
    """The format of a ``Content-Type``; a DataError (answered 415) for any other."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in MEDIA:
        got = media or "no Content-Type"
        raise UnsupportedMedia(
            f"readings come as application/json, application/x-ndjson or text/csv, not {got}: "
            "set the Content-Type header."
        )
    return MEDIA[media]


class UnsupportedMedia(DataError):
    """A content type the readings route does not read."""


class Unreadable(DataError):
    """A body that is not JSON / NDJSON / CSV at all (answered 400)."""


def parse_batch(body: bytes, content_type: str, meter: Meter, *, fast: bool = True) -> Batch:
    """Read ``body`` into readings for ``meter`` (see the module docstring).

    A batch of uniform readings is read a column at a time (``core.api.batch_fast``); ``fast=False``
    reads every batch reading by reading, which gives the same batch (tests compare the two)."""
    fmt = body_format(content_type)
    text = _text(body)
    table = csv_table(text) if fmt == "csv" and fast else None
    if table is not None:  # a CSV with one cell per column on every line: no records needed
        _check_count(len(table["timestamp"]))
        batch = _uniform(fmt, uniform_readings(True, table), meter)
        if batch is not None:
            return batch
    if fmt == "json":
        records = list(enumerate(_json_objects(text), start=1))
    else:
        records = _ndjson_records(text) if fmt == "ndjson" else _csv_records(text)
    _check_count(len(records))
    if (
        fast and fmt != "csv"
    ):  # JSON objects, each whole (an NDJSON line that is no JSON: a Rejected)
        objects = [rec for _, rec in records]
        batch = _uniform(fmt, uniform_readings(False, object_columns(objects), objects), meter)
        if batch is not None:
            return batch
    return _readings(fmt, records, meter)


def _uniform(fmt: Format, read: tuple | None, meter: Meter) -> Batch | None:
    """The batch of the fast path's readings (``core.api.batch_fast``), None when it declined."""
    if read is None:
        return None
    times, values, covs = read
    rows = np.arange(1, len(times) + 1)
    return _assemble(fmt, len(times), rows, times, values, covs, [], meter)


def _check_count(n: int) -> None:
    if not n:
        raise DataError("the body holds no readings: send at least one {timestamp, value}.")
    if n > limits.MAX_BATCH:
        raise DataError(
            f"the body holds {n:,} readings, over the {limits.MAX_BATCH:,} one request "
            "may carry (WATTSUP_API_MAX_BATCH): send them in smaller batches."
        )


# ---- formats -> records: [(row, object or a reason it is not one)] -----------------------------------
Record = tuple[int, Any]


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise Unreadable(
            f"the body is not UTF-8 text (byte {err.start}): send UTF-8 JSON or CSV."
        ) from None


def _json_objects(text: str) -> list[Any]:
    try:
        obj = json.loads(text)
    except ValueError as err:
        raise Unreadable(
            f"the body is not valid JSON ({err}): send a list of readings like "
            '[{"timestamp": "2024-01-01T00:00:00Z", "value": 1.5}].'
        ) from None
    if isinstance(obj, dict) and isinstance(obj.get("readings"), list):
        obj = obj["readings"]  # an envelope {"readings": [...]} as well as the bare list
    if not isinstance(obj, list):
        raise DataError(
            f"the body is a JSON {type(obj).__name__}, not a list of readings: send "
            '[{"timestamp": "2024-01-01T00:00:00Z", "value": 1.5}, ...].'
        )
    return obj


def _ndjson_records(text: str) -> list[Record]:
    out: list[Record] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        row = len(out) + 1
        try:
            out.append((row, json.loads(line)))
        except ValueError as err:
            out.append((row, Rejected(row, None, f"the line is not JSON ({err}).")))
    return out


def _csv_records(text: str) -> list[Record]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return []
    except csv.Error as err:
        raise Unreadable(f"the CSV header does not read ({err}).") from None
    missing = [name for name in RESERVED if name not in header]
    if missing:
        raise DataError(
            f"the CSV header {','.join(header)[:200]!r} has no {' or '.join(missing)} column: "
            "start the body with a line like timestamp,value,temperature."
        )
    if len(set(header)) != len(header):
        raise DataError("the CSV header names a column twice: give each column one name.")
    out: list[Record] = []
    try:
        for cells in reader:
            if not cells or not any(c.strip() for c in cells):
                continue
            row = len(out) + 1
            if len(cells) != len(header):
                reason = f"has {len(cells)} cells, the header {len(header)}: give one per column."
                out.append((row, Rejected(row, None, reason)))
                continue
            out.append((row, dict(zip(header, cells, strict=True))))
    except csv.Error as err:
        raise Unreadable(f"the CSV body does not read after row {len(out)} ({err}).") from None
    return out


# ---- records -> readings ----------------------------------------------------------------------
def _number(x: Any) -> float | None | str:
    """A finite float, None for missing, or the reason it is neither."""
    if x is None or (isinstance(x, str) and not x.strip()):
        return None
    if isinstance(x, bool) or not isinstance(x, int | float | str):
        return (
            f"{json.dumps(x)[:40]} is not a number: send a number, or null for a missing reading."
        )
    try:
        value = float(x)
    except (ValueError, OverflowError):
        return f"{x[:40]!r} is not a number: send a number, or null for a missing reading."
    if not math.isfinite(value):
        return (
            f"{str(x)[:40]} is not a finite number: send a number, or null for a missing reading."
        )
    too_large = beyond_any_meter(value)
    return value if too_large is None else f"{too_large}."


def _readings(fmt: Format, records: list[Record], meter: Meter) -> Batch:
    rejected: list[Rejected] = []
    rows: list[int] = []
    times: list[Any] = []
    values: list[float | None] = []
    covs: dict[str, dict[int, float]] = {}
    for row, rec in records:
        if isinstance(rec, Rejected):
            rejected.append(rec)
            continue
        if not isinstance(rec, dict):
            rejected.append(
                Rejected(row, None, 'a reading is an object {"timestamp": ..., "value": ...}.')
            )
            continue
        problem = _check_record(row, rec)
        if problem is not None:
            rejected.append(problem)
            continue
        parsed: dict[str, float] = {}
        bad = None
        for key, raw in rec.items():
            if key == "timestamp":
                continue
            value = _number(raw)
            if isinstance(value, str):
                bad = Rejected(row, key, value)
                break
            if key != "value" and value is not None:
                parsed[key] = value
        if bad is not None:
            rejected.append(bad)
            continue
        rows.append(row)
        times.append(rec["timestamp"])
        values.append(_number(rec["value"]))  # type: ignore[arg-type]
        for key, value in parsed.items():
            covs.setdefault(key, {})[len(rows) - 1] = value
    columns = {}
    for name, by_pos in covs.items():
        col = np.full(len(rows), np.nan)
        col[list(by_pos)] = list(by_pos.values())
        columns[name] = col
    values_ = np.array(values, dtype=float)
    return _assemble(fmt, len(records), rows, times, values_, columns, rejected, meter)


def _assemble(
    fmt: Format,
    received: int,
    rows: list[int] | np.ndarray,
    times: list[Any],
    values: np.ndarray,
    covs: dict[str, np.ndarray],
    rejected: list[Rejected],
    meter: Meter,
) -> Batch:
    """The readings that passed the per-reading checks (``rows`` numbers them) -> the batch:
    times on the meter's clock, then duplicates, each rejected one named."""
    _check_covariates(meter, covs)
    index, reasons = meter_times(times, meter)
    rejected.extend(Rejected(int(rows[i]), "timestamp", why) for i, why in reasons.items())
    keep = ~index.isna()
    frame = pd.DataFrame({"value": values}, index=index)
    for name, col in covs.items():
        frame[name] = col
    frame = frame[np.asarray(keep)]
    kept_rows = np.asarray(rows, dtype=np.int64)[np.asarray(keep)]
    dupes = frame.index.duplicated(keep="first")
    if dupes.any():
        first = pd.Series(kept_rows[~dupes], index=frame.index[~dupes])
        for row, when in zip(kept_rows[dupes], frame.index[dupes], strict=True):
            reason = f"same time as row {first[when]}: send one reading per time."
            rejected.append(Rejected(int(row), "timestamp", reason))
        frame = frame[~dupes]
    frame = frame.sort_index()
    frame.index.name = "timestamp"
    rejected.sort(key=lambda r: r.row)
    return Batch(fmt, received, frame, rejected)


def _check_record(row: int, rec: dict) -> Rejected | None:
    for key in RESERVED:
        if key not in rec:
            hint = "" if key == "timestamp" else " (null for a missing reading)"
            return Rejected(row, key, f"has no {key}: send one{hint}.")
    for key in rec:
        if not isinstance(key, str) or not key.strip() or len(key) > 100:
            return Rejected(row, str(key)[:40], "is not a name for a covariate: 1-100 characters.")
    return None


def _check_covariates(meter: Meter, covs: dict[str, Any]) -> None:
    names = set(meter.columns) | set(covs)
    if len(names) > limits.MAX_COVARIATES:
        raise DataError(
            f"meter {meter.name!r} would have {len(names):,} covariates, over the "
            f"{limits.MAX_COVARIATES:,} limit: send only the numbers you need beside value."
        )
