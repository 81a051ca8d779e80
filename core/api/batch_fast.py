"""The fast path of ``core.api.batch``: a batch read a whole column at a time.

A batch whose readings all have the same keys and plain numbers (what devices and gateways send)
is read column by column in C (``map``, numpy) with no Python work per reading; any other batch
returns None here and takes the per-reading path of ``core.api.batch``, which names every rejected
row. Both give the same batch (tests/api/test_batch_paths.py compares them).
"""

from __future__ import annotations

import csv
import io
import math
from operator import itemgetter
from typing import Any

import numpy as np

from core.ingest.extract import MAX_ABS_VALUE

RESERVED = ("timestamp", "value")


def csv_table(text: str) -> dict[str, list[str]] | None:
    """One list of cells per column of a CSV whose every line has one cell per column, else None."""
    try:
        lines = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        return None
    if not lines:
        return None
    header = [h.strip() for h in lines[0]]
    if len(set(header)) != len(header) or any(name not in header for name in RESERVED):
        return None
    lines = [cells for cells in lines[1:] if cells]  # csv reads an empty line as no cells
    if lines and set(map(len, lines)) != {len(header)}:
        return None
    columns = map(list, zip(*lines, strict=True)) if lines else ([] for _ in header)
    return dict(zip(header, columns, strict=True))


def object_columns(objects: list[Any]) -> dict[str, list] | None:
    """One list per key when every reading is an object with the same keys, else None."""
    if not objects or not all(type(o) is dict for o in objects):
        return None
    keys = objects[0].keys()
    if not all(o.keys() == keys for o in objects):
        return None
    return {k: list(map(itemgetter(k), objects)) for k in keys}


def floats(cells: list[Any]) -> np.ndarray | None:
    """The cells as floats (NaN: null or an empty cell) when each is a finite number (or number
    text) or missing, else None (``core.api.batch``'s per-reading rules, a column at a time)."""
    kinds = set(map(type, cells))
    missing = 0
    try:
        if kinds <= {int, float, type(None)}:
            missing = cells.count(None)
            out = np.array(cells, dtype=float)
        elif kinds == {str}:
            try:
                out = np.fromiter(map(float, cells), dtype=float, count=len(cells))
            except ValueError:  # empty cells (missing numbers), or text that is no number
                blank = [not c.strip() for c in cells]
                missing = sum(blank)
                out = np.array(
                    [math.nan if b else float(c) for c, b in zip(cells, blank, strict=True)]
                )
        else:
            return None
    except (ValueError, OverflowError):
        return None
    if int(np.count_nonzero(~np.isfinite(out))) != missing:
        return None
    with np.errstate(invalid="ignore"):
        return None if (np.abs(out) > MAX_ABS_VALUE).any() else out


def uniform_readings(
    from_csv: bool, columns: dict[str, list] | None, objects: list | None = None
) -> tuple[list, np.ndarray, dict[str, np.ndarray]] | None:
    """(times, values, covariates) of uniform readings, or None to take the per-reading path.

    ``columns`` from :func:`csv_table` (``from_csv``) or :func:`object_columns` of ``objects``."""
    if columns is None or any(key not in columns for key in RESERVED):
        return None
    if any(not isinstance(k, str) or not k.strip() or len(k) > 100 for k in columns):
        return None
    times = columns["timestamp"]
    if from_csv and not all(map(str.strip, times)):
        return None  # a blank line of cells, or a line without a time
    numbers: dict[str, np.ndarray] = {}
    for key, cells in columns.items():
        if key != "timestamp":
            parsed = floats(cells)
            if parsed is None:
                return None
            numbers[key] = parsed
    values = numbers.pop("value")
    # covariates in the order the per-reading path meets their first number
    first = {k: int(np.argmax(~np.isnan(a))) for k, a in numbers.items() if not np.isnan(a).all()}

    def met(key: str) -> tuple[int, int]:
        keys = list(columns) if objects is None else list(objects[first[key]])
        return first[key], keys.index(key)

    covs = {k: numbers[k] for k in sorted(first, key=met)}
    return times, values, covs
