"""A parse result as bytes that carry data only, from the worker process back to the server.

The worker (:mod:`core.ingest.worker`) reads untrusted bytes, so the server treats what it sends
back as untrusted too. Pickle would let a worker that a crafted file had subverted run code in the
server; the reply is therefore JSON for everything small (``json.loads`` builds dicts, lists,
strings and numbers, nothing else) and Arrow IPC streams for the two frames, validated in full
after reading. pyarrow never unpickles IPC extension types since 14.0.1 (CVE-2023-47248); the
project pins a later one. Fields the server can work out itself (the schema and options it asked
for, the cache digest) are not taken from the reply at all.

Layout: ``MAGIC``, then frames of an 8-byte big-endian length and that many bytes: the JSON meta
first, then one Arrow IPC stream per table.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa

from core.errors import DataError
from core.ingest.columns import UNITS, SchemaGuess
from core.ingest.data import CleanOptions, Dataset, QualityReport, Schema, upload_digest

__all__ = ["dataset_from", "dataset_reply", "guess_from", "guess_reply", "unpack", "write"]

MAGIC = b"WATTSUP-INGEST-1"
_LENGTH = 8
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)
_BROKEN = "The worker that read {filename} sent back a reply that cannot be read: upload it again."


def write(out: BinaryIO, meta: dict[str, Any], frames: Sequence[pd.DataFrame] = ()) -> None:
    """``MAGIC``, the JSON meta, then each frame as an Arrow IPC stream, each length-prefixed.

    Written straight to ``out`` one table at a time: a reply is never copied whole in memory.
    """
    out.write(MAGIC)
    _write_part(out, json.dumps(meta, default=str).encode())
    for frame in frames:
        sink = pa.BufferOutputStream()
        table = _to_arrow(frame)
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        del table
        _write_part(out, sink.getvalue())


def unpack(blob: bytes, filename: str) -> tuple[dict[str, Any], list[pa.Table]]:
    """The meta and the tables of a :func:`write` reply; a DataError if anything is malformed."""
    try:
        view, pos, parts = memoryview(blob), len(MAGIC), []
        if bytes(view[:pos]) != MAGIC:
            raise ValueError("no magic")
        while pos < len(view):
            size = int.from_bytes(view[pos : pos + _LENGTH], "big")
            pos += _LENGTH
            if pos + size > len(view):
                raise ValueError("truncated")
            parts.append(view[pos : pos + size])
            pos += size
        meta = json.loads(bytes(parts[0]))
        tables = [_read_stream(p) for p in parts[1:]]
    except (ValueError, IndexError, *_ARROW_ERRORS) as err:
        raise DataError(_BROKEN.format(filename=filename)) from err
    if not isinstance(meta, dict):
        raise DataError(_BROKEN.format(filename=filename))
    return meta, tables


def dataset_reply(ds: Dataset) -> tuple[dict[str, Any], list[pd.DataFrame]]:
    """What the worker sends for a parsed upload."""
    meta = {
        "ok": True,
        "name": ds.name,
        "unit": ds.unit,
        "freq_ns": int(ds.freq.value),
        "index_freq": ds.frame.index.freqstr
        if isinstance(ds.frame.index, pd.DatetimeIndex)
        else None,
        "report": {
            "fields": ds.report.fields,
            "changes": ds.report.changes,
            "warnings": ds.report.warnings,
        },
    }
    return meta, [ds.frame, ds.raw]


def dataset_from(
    meta: dict[str, Any],
    tables: list[pa.Table],
    data: bytes,
    filename: str,
    schema: Schema,
    options: CleanOptions,
) -> Dataset:
    """The :class:`Dataset` from a worker's reply; schema, options and digest are the server's own."""
    try:
        report = meta["report"]
        name, unit, freq_ns = meta["name"], meta["unit"], meta["freq_ns"]
        ok = (
            len(tables) == 2
            and isinstance(name, str)
            and unit in UNITS
            and isinstance(freq_ns, int)
            and freq_ns > 0
            and isinstance(report["fields"], dict)
            and all(isinstance(t, str) for t in [*report["changes"], *report["warnings"]])
        )
        if not ok:
            raise ValueError("unexpected reply")
        frame, raw = (t.to_pandas() for t in tables)
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise ValueError("frame without a time index")
        if meta.get("index_freq"):
            frame.index = pd.DatetimeIndex(frame.index, freq=str(meta["index_freq"]))
    except (KeyError, TypeError, ValueError, *_ARROW_ERRORS) as err:
        raise DataError(_BROKEN.format(filename=filename)) from err
    quality = QualityReport(report["fields"], list(report["changes"]), list(report["warnings"]))
    freq = pd.Timedelta(freq_ns, unit="ns")
    digest = upload_digest(data, schema, options)
    return Dataset(name, frame, raw, schema, quality, freq, unit, digest)


def guess_reply(guess: SchemaGuess) -> dict[str, Any]:
    """What the worker sends for a schema guess (JSON only: names, lists and counts)."""
    return {"ok": True, "guess": dataclasses.asdict(guess)}


def guess_from(meta: dict[str, Any], filename: str) -> SchemaGuess:
    """The :class:`SchemaGuess` from a worker's reply, keeping only the fields the class has."""
    known = {f.name for f in dataclasses.fields(SchemaGuess)}
    fields = meta.get("guess")
    try:
        if not isinstance(fields, dict) or not set(fields) <= known:
            raise TypeError("unexpected fields")
        return SchemaGuess(**fields)
    except TypeError as err:
        raise DataError(_BROKEN.format(filename=filename)) from err


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    """The frame as Arrow; a column Arrow cannot type (mixed JSON values) travels as text."""
    try:
        return pa.Table.from_pandas(frame)
    except _ARROW_ERRORS:
        fixed = frame.copy()
        for col in fixed.columns:
            try:
                pa.array(fixed[col], from_pandas=True)
            except _ARROW_ERRORS:
                fixed[col] = fixed[col].astype("string")
        return pa.Table.from_pandas(fixed)


def _write_part(out: BinaryIO, payload: bytes | pa.Buffer) -> None:
    out.write(len(payload).to_bytes(_LENGTH, "big"))
    out.write(payload)


def _read_stream(part: memoryview) -> pa.Table:
    table = pa.ipc.open_stream(pa.py_buffer(part)).read_all()
    table.validate(full=True)  # offsets and lengths checked before pandas touches a buffer
    return table
