"""JSON (records, [timestamp, value] pairs, a {timestamp: value} mapping, columns, API envelopes such
as {"data": [...]}, JSON lines) and Parquet bytes -> :class:`core.ingest.raw.RawTable`, values untouched."""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd

from core.errors import DataError
from core.ingest.raw import RawTable, clean_names, first_line


def read_parquet(data: bytes, filename: str) -> RawTable:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as err:  # pyarrow raises several types for damaged files
        raise DataError(
            f"{filename} starts like a Parquet file but cannot be read ({first_line(err)}): save it again or upload a CSV."
        ) from err
    frame = frame.reset_index() if _has_named_index(frame) else frame.reset_index(drop=True)
    return RawTable(clean_names(frame), "parquet")


def read_json(text: str, filename: str, encoding: str) -> RawTable:
    try:
        return _read_json(text, filename, encoding)
    except RecursionError as err:  # json.loads stops near Python's recursion limit (~1,000)
        raise DataError(
            f"{filename} is JSON nested too deeply to be a table (lists or objects inside one another "
            'about 1,000 levels deep or more): upload a flat list of records like [{"timestamp": '
            '"2024-01-01 00:00", "value": 1.5}] or a CSV file.'
        ) from err


def _read_json(text: str, filename: str, encoding: str) -> RawTable:
    try:
        obj: Any = json.loads(text)
    except ValueError:
        try:
            frame = pd.read_json(io.StringIO(text), lines=True, convert_dates=False)
        except ValueError as err:
            raise DataError(
                f"{filename} is not valid JSON ({first_line(err)}): upload a list of records, a "
                '{"timestamp": value} mapping, or a CSV file.'
            ) from err
        return RawTable(clean_names(frame), "json", encoding=encoding)
    if isinstance(obj, dict):  # API envelopes: {"data": [...records...], "meta": {...}}
        lists = [
            v
            for v in obj.values()
            if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)
        ]
        # the one list of records beside metadata, or alone under its key ({"data": [...]})
        if len(lists) == 1 and (
            len(obj) == 1 or not all(isinstance(v, list) for v in obj.values())
        ):
            obj = lists[0]
    if isinstance(obj, dict) and obj and all(not isinstance(v, (list, dict)) for v in obj.values()):
        frame = pd.DataFrame({"timestamp": list(obj.keys()), "value": list(obj.values())})
    elif isinstance(obj, dict) and obj and all(isinstance(v, list) for v in obj.values()):
        try:
            frame = pd.DataFrame(obj)
        except ValueError as err:
            raise DataError(
                f"{filename}: the JSON columns have different lengths; give every column the same number of values."
            ) from err
    elif isinstance(obj, list) and obj and all(isinstance(r, dict) for r in obj):
        frame = pd.DataFrame.from_records(obj)
    elif isinstance(obj, list) and obj and all(_pair(r) for r in obj):  # [[time, value], ...]
        frame = pd.DataFrame(obj, columns=["timestamp", "value"])
    elif isinstance(obj, (list, dict)) and not obj:
        raise DataError(
            f"{filename} holds an empty JSON {type(obj).__name__}: there are no readings to analyse."
        )
    else:
        raise DataError(
            f"{filename}: JSON layout not understood; upload a list of records like "
            '[{"timestamp": "2024-01-01 00:00", "value": 1.5}], a list of [timestamp, value] pairs '
            'or a {"timestamp": value} mapping.'
        )
    frame = frame.map(lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v)
    return RawTable(clean_names(frame), "json", encoding=encoding)


def _pair(item: Any) -> bool:
    """A ``[timestamp, value]`` pair of plain values (charting and IoT exports write these)."""
    return (
        isinstance(item, list)
        and len(item) == 2
        and not any(isinstance(v, (list, dict)) for v in item)
    )


def _has_named_index(frame: pd.DataFrame) -> bool:
    return frame.index.name is not None or isinstance(frame.index, pd.DatetimeIndex)
