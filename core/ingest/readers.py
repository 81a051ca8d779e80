"""Bytes -> an untouched table: decode, sniff the dialect, read CSV / JSON / Parquet.

Nothing here decides what a column means; :mod:`core.ingest.columns` does that. Every reader returns a
:class:`RawTable` that also knows how to turn a 0-based data row back into the line or record number
a person sees in their editor, so errors and the quality report can point at the right place.

CSV goes through ``pyarrow.csv`` directly rather than ``pd.read_csv(engine="pyarrow")``: the same
multi-threaded reader, but pandas does not pass on ``timestamp_parsers`` (needed so strings with a
UTC offset are not silently shifted to UTC) or ``decimal_point`` (European ``1,5``). Lines with the
wrong number of fields fall back to pandas' C reader, which skips and names them.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from core.errors import DataError
from core.ingest.declared import check_csv, check_json, check_parquet, check_table
from core.ingest.raw import RawTable, clean_names, first_line
from core.ingest.records import read_json, read_parquet

__all__ = ["RawTable", "clean_names", "first_line", "read_table"]

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# Naive ISO layouts only: strings with a UTC offset stay text so core.ingest.timestamps keeps the offset.
ARROW_TIMESTAMP_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
NULL_TOKENS = [
    "",
    "NA",
    "N/A",
    "n/a",
    "na",
    "NaN",
    "nan",
    "null",
    "NULL",
    "None",
    "none",
    "#N/A",
    "-",
    "--",
]
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")
_LOOKS_LIKE_DATA = re.compile(r"^[\s\d.,:+\-/TZ]+$")
_LEADING_SPACE = re.compile(r"\s*")
_MARKUP = re.compile(r"<(!doctype|html|\?xml|head|body|table|div)\b", re.IGNORECASE)


def read_table(data: bytes, filename: str) -> RawTable:
    """Read ``data`` as Parquet, JSON or CSV (in that order of evidence) without changing a value."""
    if not data or (not data[:65536].strip() and not data.strip()):
        raise DataError(
            f"{filename} is empty: upload a CSV, JSON or Parquet file with a timestamp and a value column."
        )

    if data[:4] == b"PAR1":
        check_parquet(data, filename)
        table = read_parquet(data, filename)
    else:
        text, encoding = decode_text(data, filename)
        start = _LEADING_SPACE.match(text).end()  # not text.lstrip(): that copies the whole text
        first = text[start : start + 1]
        if first == "<" and _MARKUP.match(text, start):
            raise DataError(
                f"{filename} is a web page or an XML document, not a table (it starts with "
                f"{text[start : start + 15]!r}): download the data file itself, as CSV, JSON or "
                "Parquet, and upload that."
            )
        if first in ("", "[", "{") or filename.lower().endswith((".json", ".jsonl", ".ndjson")):
            check_json(data, filename)
            table = read_json(text, filename, encoding)
        else:
            check_csv(data, filename)
            table = _read_csv(text, data, filename, encoding)
    check_table(*table.frame.shape, filename)  # JSON declares nothing: count what was read
    return table


def decode_text(data: bytes, filename: str) -> tuple[str, str]:
    """Decode as UTF-8 (BOM or not), UTF-16 with BOM, else Latin-1; refuse binary garbage."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    head = data[:65536]
    controls = sum(head.count(bytes([c])) for c in (*range(0, 9), 11, 12, *range(14, 32)))
    if b"\x00" in head or controls > len(head) * 0.01:
        raise DataError(
            f"{filename} does not look like a text table or a Parquet file (it contains binary bytes): "
            "export it as CSV, JSON or Parquet and upload again."
        )
    if data[:3] == b"\xef\xbb\xbf":
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def sniff_dialect(text: str) -> tuple[str, str, bool]:
    """Delimiter, decimal mark and whether line 1 is a header, from the first 50 non-empty lines."""
    lines = [ln for ln in text[:200_000].splitlines() if ln.strip()][:50]
    best, best_score = ",", -1.0
    for delim in DELIMITERS:
        counts = [ln.count(delim) for ln in lines]
        if not counts or counts[0] == 0:
            continue
        agree = sum(c == counts[0] for c in counts) / len(counts)
        score = agree * 10 + min(counts[0], 5) / 10
        if score > best_score:
            best, best_score = delim, score
    decimal = "."
    if best != ",":
        cells = [c.strip().strip('"') for ln in lines[1:] for c in ln.split(best)]
        if any(_DECIMAL_COMMA.match(c) for c in cells) and not any(
            re.match(r"^-?\d+\.\d+$", c) for c in cells
        ):
            decimal = ","
    first = [c.strip().strip('"') for c in lines[0].split(best)] if lines else []
    header = not (first and all(c and _LOOKS_LIKE_DATA.match(c) for c in first))
    return best, decimal, header


def _read_csv(text: str, data: bytes, filename: str, encoding: str) -> RawTable:
    delim, decimal, header = sniff_dialect(text)
    if encoding == "utf-8":
        payload = data
    elif encoding == "utf-8-sig":
        payload = data[3:]
    else:
        payload = text.encode("utf-8")
    table = RawTable(
        pd.DataFrame(),
        "csv",
        encoding,
        delim,
        decimal,
        header,
        numbering="file line (header is line 1)" if header else "file line",
    )
    try:
        frame = _read_csv_arrow(payload, delim, decimal, header)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError):
        frame, table.bad_lines = _read_csv_pandas(text, delim, decimal, header, filename)
    if frame.shape[0] == 0:
        raise DataError(
            f"{filename} has a header but no data rows: upload the file with its readings."
        )
    table.frame = clean_names(frame)
    table.line_of = _line_mapper(text, header, table.bad_lines)
    return table


def _read_csv_arrow(payload: bytes, delim: str, decimal: str, header: bool) -> pd.DataFrame:
    read = pacsv.ReadOptions(autogenerate_column_names=not header, block_size=1 << 22)
    parse = pacsv.ParseOptions(delimiter=delim)
    convert = pacsv.ConvertOptions(
        null_values=NULL_TOKENS,
        strings_can_be_null=True,
        timestamp_parsers=ARROW_TIMESTAMP_FORMATS,
        decimal_point=decimal,
    )
    tbl = pacsv.read_csv(
        io.BytesIO(payload), read_options=read, parse_options=parse, convert_options=convert
    )
    frame = tbl.to_pandas(date_as_object=False)
    if not header:
        frame.columns = [f"column_{i + 1}" for i in range(frame.shape[1])]
    return frame


def _read_csv_pandas(
    text: str, delim: str, decimal: str, header: bool, filename: str
) -> tuple[pd.DataFrame, list[int]]:
    """Slow, forgiving path: skips lines with the wrong number of fields and remembers them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                sep=delim,
                decimal=decimal,
                header=0 if header else None,
                na_values=NULL_TOKENS,
                keep_default_na=True,
                on_bad_lines="warn",
                skipinitialspace=True,
                low_memory=False,
            )
        except pd.errors.EmptyDataError as err:
            raise DataError(
                f"{filename} has no columns: upload a table with a header and readings."
            ) from err
        except (pd.errors.ParserError, UnicodeError, ValueError) as err:
            raise DataError(
                f"{filename} cannot be read as a table ({first_line(err)}): check the delimiter and quoting, then upload again."
            ) from err
    bad = [int(n) for w in caught for n in re.findall(r"[Ll]ine (\d+)", str(w.message))]
    if not header:
        frame.columns = [f"column_{i + 1}" for i in range(frame.shape[1])]
    return frame, bad


def _line_mapper(
    text: str, header: bool, bad_lines: list[int]
) -> Callable[[np.ndarray], list[int]]:
    """0-based data row -> 1-based file line, skipping blank lines and skipped bad lines."""

    def line_of(rows: np.ndarray) -> list[int]:
        simple = (
            "\n\n" not in text
            and "\r\n\r\n" not in text
            and not text.startswith(("\n", "\r"))
            and not bad_lines
        )
        offset = 2 if header else 1
        if simple:
            return [int(r) + offset for r in rows]
        lines = np.array(
            [i + 1 for i, ln in enumerate(text.splitlines()) if ln.strip()], dtype=np.int64
        )
        lines = lines[1:] if header else lines
        if bad_lines:
            lines = lines[~np.isin(lines, bad_lines)]
        return [int(lines[r]) if r < len(lines) else int(r) + offset for r in rows]

    return line_of
