"""What a file declares, checked against :mod:`core.ingest.limits` before a table is built.

A few hundred kilobytes can declare gigabytes: a Parquet footer states its rows, columns and
decompressed size; a CSV's line count and first line state its rows and columns. Each check reads
only that (a footer, a count of newline bytes), so a hostile file is refused in milliseconds with
one line, where reading it first took gigabytes (a 437 KB Parquet file of one repeated timestamp
declares 52 million rows; an 89 MB CSV header, 10 million columns).

What a file does not declare (JSON's nesting, a string that decompresses to a gigabyte) is bounded
by the worker process of :mod:`core.ingest.guarded` instead.
"""

from __future__ import annotations

import math
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import DataError
from core.ingest import limits

__all__ = [
    "check_csv",
    "check_json",
    "check_name",
    "check_parquet",
    "check_size",
    "check_table",
    "check_upload",
]

DELIMITERS = (b",", b";", b"\t", b"|")  # the ones core.ingest.readers sniffs
_SCAN_CHUNK = 8 * limits.MB  # newline scan window: bounded memory whatever the file size
_SMALLER = "upload a shorter period, fewer columns or one meter at a time"


def check_name(filename: str) -> None:
    """A name a message can repeat on one line: no NUL or other control character, not too long."""
    if any(unicodedata.category(c) == "Cc" for c in filename):
        what = "a NUL byte" if "\x00" in filename else "a control character (such as a line break)"
        raise DataError(
            f"The file name contains {what}, which no file name may hold: rename the file and upload it again."
        )
    if len(filename) > limits.MAX_FILENAME_CHARS:
        raise DataError(
            f"The file name is {len(filename):,} characters long, over the {limits.MAX_FILENAME_CHARS} "
            "that file systems allow: rename the file and upload it again."
        )


def check_upload(size: int, filename: str) -> None:
    """What is known before the bytes are looked at: the name, then the size."""
    check_name(filename)
    check_size(size, filename)


def check_size(size: int, filename: str) -> None:
    """The upload limit, in the MB Streamlit's server counts (1024 * 1024 bytes)."""
    if size > limits.MAX_UPLOAD_MB * limits.MB:
        shown = math.ceil(size / limits.MB * 10) / 10  # rounded up: never "200.0 MB, over 200 MB"
        raise DataError(
            f"{filename} is {shown:.1f} MB, over the {limits.MAX_UPLOAD_MB} MB limit: {_SMALLER}."
        )


def check_parquet(data: bytes, filename: str) -> None:
    """Rows, columns, values and decompressed size from the footer, before any column is read.

    A file whose footer cannot be found or read passes: the reader then says it is damaged.
    """
    if len(data) < 12 or data[-4:] != b"PAR1":
        return
    footer = int.from_bytes(data[-8:-4], "little")
    if footer > len(data) - 12:  # longer than the file: damaged, not big
        return
    if footer > limits.MAX_PARQUET_FOOTER_MB * limits.MB:
        raise DataError(
            f"{filename} describes its columns in {footer / limits.MB:.0f} MB of metadata, over the "
            f"{limits.MAX_PARQUET_FOOTER_MB} MB limit (too many columns or row groups): {_SMALLER}."
        )
    try:
        meta = pq.read_metadata(pa.BufferReader(data))
    except Exception:  # damaged footers raise several types; the reader reports them in words
        return
    check_table(meta.num_rows, meta.num_columns, filename)
    decoded = values = 0
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        decoded += max(0, group.total_byte_size)
        values += sum(max(0, group.column(j).num_values) for j in range(group.num_columns))
    if decoded > limits.MAX_DECODED_MB * limits.MB:
        raise DataError(
            f"{filename} decompresses to {decoded / limits.MB:,.0f} MB, over the {limits.MAX_DECODED_MB:,} MB "
            f"limit: {_SMALLER}."
        )
    if values > limits.MAX_CELLS:  # nested columns hold more values than rows x columns
        raise DataError(
            f"{filename} holds {values:,} values, over the {limits.MAX_CELLS:,} limit: {_SMALLER}."
        )


def check_csv(data: bytes, filename: str) -> None:
    """Line count, longest line and the first line's column count, from the raw bytes."""
    end = data.find(b"\n")
    end = len(data) if end < 0 else end
    columns = max(data.count(d, 0, end) for d in DELIMITERS) + 1  # counted in place, no copy
    check_table(0, columns, filename)
    lines, longest = _line_stats(data)
    if longest > limits.MAX_LINE_KB * 1024:
        raise DataError(
            f"{filename} has a line of {longest / 1024:,.0f} KB, over the {limits.MAX_LINE_KB} KB limit: "
            "meter readings are short lines; check it is a CSV table and upload again."
        )
    check_table(max(0, lines - 1), columns, filename)


def check_json(data: bytes, filename: str) -> None:
    """JSON declares no shape, and reading it takes about ten times its size: a smaller limit."""
    if len(data) > limits.MAX_JSON_MB * limits.MB:
        raise DataError(
            f"{filename} is {len(data) / limits.MB:,.0f} MB of JSON, over the {limits.MAX_JSON_MB} MB limit for "
            "JSON (reading it takes about ten times its size in memory): save it as CSV or Parquet, "
            "or upload a shorter period."
        )


def check_table(rows: int, columns: int, filename: str) -> None:
    """Rows, columns and cells against the limits (declared before reading, or counted after)."""
    if columns > limits.MAX_COLUMNS:
        raise DataError(
            f"{filename} has {columns:,} columns, over the {limits.MAX_COLUMNS:,} limit: keep the "
            "timestamp, the readings and a few covariates, then upload again."
        )
    if rows > limits.MAX_ROWS:
        raise DataError(
            f"{filename} has {rows:,} rows, over the {limits.MAX_ROWS:,} limit: {_SMALLER}."
        )
    if rows * columns > limits.MAX_CELLS:
        raise DataError(
            f"{filename} has {rows:,} rows of {columns:,} columns ({rows * columns:,} cells), over the "
            f"{limits.MAX_CELLS:,} limit: {_SMALLER}."
        )


def _line_stats(data: bytes) -> tuple[int, int]:
    """Number of lines and the longest line in bytes (newline included), 8 MB at a time."""
    arr = np.frombuffer(data, dtype=np.uint8)
    lines = longest = start = 0
    for lo in range(0, arr.size, _SCAN_CHUNK):
        ends = np.flatnonzero(arr[lo : lo + _SCAN_CHUNK] == 0x0A) + lo
        if ends.size:
            longest = max(longest, int(np.diff(ends, prepend=start - 1).max()))
            start = int(ends[-1]) + 1
            lines += int(ends.size)
    if start < arr.size:  # a last line without a newline
        lines += 1
        longest = max(longest, arr.size - start)
    return lines, longest
