"""Uploads: the original bytes on disk by sha256, and their row (file name, schema, quality report).

The bytes are written to ``<home>/blobs/<sha256>`` before the transaction that records them (a
temporary file, then an atomic rename, so a blob is whole or absent); the same bytes are one file
however many meters or uploads name them. ``uploads`` rows go in the caller's transaction, so an
import that rolls back records no upload; a blob no row names any more is removed with its last meter.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.engine import Connection

from core.errors import DataError
from core.store.schema import uploads

BLOBS_DIR = "blobs"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Upload:
    """A file as it was uploaded, and how it was read (JSON-ready mappings)."""

    data: bytes = field(repr=False)
    filename: str
    schema: Mapping[str, Any] = field(default_factory=dict)
    report: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


NAME_CHARS = 255  # a file name as most file systems allow it; uploads.filename holds 500


def stored_name(filename: str) -> str:
    """The name recorded for an upload: its last path part (``/`` or ``\\``), without control
    characters (PostgreSQL text cannot hold NUL), at most ``NAME_CHARS`` long. Only ever shown:
    the bytes live under their sha256, so no name reaches the file system."""
    last = re.split(r"[/\\]", str(filename))[-1]
    clean = "".join(c for c in last if unicodedata.category(c) != "Cc").strip()
    if clean in ("", ".", ".."):
        clean = "upload"
    return clean[:NAME_CHARS]


def blob_path(home: Path, sha256: str) -> Path:
    """Where the bytes with this sha256 live (refused unless it is 64 hex digits: never a path)."""
    if not _SHA256.fullmatch(str(sha256)):
        raise DataError(f"{str(sha256)[:80]!r} is not a sha256 digest: no blob is kept under it.")
    return home / BLOBS_DIR / sha256


def write_blob(home: Path, upload: Upload) -> Path:
    """Keep the upload's bytes (once per content); returns the blob's path."""
    path = blob_path(home, upload.sha256)
    if path.is_file() and path.stat().st_size == len(upload.data):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(upload.data)
        os.replace(tmp, path)
    except OSError as err:
        raise DataError(
            f"cannot keep the uploaded file in {path.parent}: {err.strerror}; "
            "set WATTSUP_HOME to a writable folder."
        ) from err
    return path


def record_upload(conn: Connection, meter_id: int, upload: Upload, insert) -> None:
    """Add the upload's row for ``meter_id`` unless the same bytes are already recorded there.

    ``insert`` is the dialect's ``insert`` (SQLite or PostgreSQL), for ON CONFLICT DO NOTHING.
    """
    stmt = insert(uploads).values(
        meter_id=meter_id,
        sha256=upload.sha256,
        filename=stored_name(upload.filename),
        size_bytes=len(upload.data),
        schema=dict(upload.schema),
        report=dict(upload.report),
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["meter_id", "sha256"]))


def meter_blobs(conn: Connection, meter_id: int) -> list[str]:
    """The sha256 of every upload of a meter."""
    return list(conn.scalars(select(uploads.c.sha256).where(uploads.c.meter_id == meter_id)))


def remove_unused_blobs(conn: Connection, home: Path, shas: Iterable[str]) -> None:
    """Delete the blobs among ``shas`` that no upload row names any more."""
    for sha in set(shas):
        if not conn.scalar(select(exists().where(uploads.c.sha256 == sha))):
            blob_path(home, sha).unlink(missing_ok=True)
