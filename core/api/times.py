"""The time of each reading of a pushed batch, on its meter's clock, or the reason it has none.

Cells are read by ``core.ingest.timestamps`` (the rules a file upload has), in three groups read
apart, since a column of several kinds would be read in the layout most of it has: Unix times
(numbers, or digits as text: seconds, milliseconds, micro- or nanoseconds, told apart by size one
by one), times with a UTC offset or ``Z``, and wall-clock times. For a meter with a time zone the
first two are converted to it and wall-clock times are read there (a time that daylight saving
skips is rejected); a meter without one keeps wall-clock times only. Times finer than a microsecond,
off the meter's step (counted from its first reading, else from midnight) or outside the years
1900-2199 are rejected.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd

from core.ingest.timestamps import (
    EARLIEST_YEAR,
    EPOCH_RANGES,
    LATEST_YEAR,
    apply_tz,
    parse_timestamps,
)
from core.store.records import Meter, step_text

NAT = np.iinfo(np.int64).min  # NaT as int64 nanoseconds
_TIME_HINT = (
    f"send ISO 8601 like 2024-01-01T00:00:00+01:00 (or Unix seconds), years {EARLIEST_YEAR}-"
    f"{LATEST_YEAR}"
)


def meter_times(raw: list[Any], meter: Meter) -> tuple[pd.DatetimeIndex, dict[int, str]]:
    """Each cell's time on the meter's clock (NaT where it is rejected) and, by position, why
    each rejected one is."""
    if not raw:
        empty = pd.DatetimeIndex([], dtype="datetime64[ns]")
        return (empty if meter.timezone is None else empty.tz_localize(meter.timezone)), {}
    types = set(map(type, raw))
    if types <= {str, int, float}:
        cells = pd.Series(raw, dtype=object)
    else:
        cells = pd.Series(
            [
                None if isinstance(t, bool) or not isinstance(t, str | int | float) else t
                for t in raw
            ],
            dtype=object,
        )
    # Unix times, times with an offset and wall-clock times are read apart (a column of several
    # kinds is read in the layout most of it has, and the rest would be unreadable); the first
    # two are UTC
    kinds = _kinds(raw) if types == {str} else np.array([_kind(t) for t in cells])
    utc_ns = np.full(len(cells), NAT, dtype=np.int64)
    wall_ns = np.full(len(cells), NAT, dtype=np.int64)
    for kind in ("unix", "offset", "wall"):
        part = kinds == kind
        if not part.any():
            continue
        column = cells[part].reset_index(drop=True)
        values = _unix(column) if kind == "unix" else parse_timestamps(column).values.as_unit("ns")
        if kind == "wall" and values.tz is None:
            wall_ns[part] = values.asi8
        elif kind != "wall" and values.tz is not None:
            utc_ns[part] = values.tz_convert("UTC").tz_localize(None).asi8
    aware = kinds != "wall"
    utc = pd.Series(pd.DatetimeIndex(utc_ns.view("M8[ns]")).tz_localize("UTC"), index=cells.index)
    wall = pd.Series(pd.DatetimeIndex(wall_ns.view("M8[ns]")), index=cells.index)
    reasons: dict[int, str] = {}
    zone = meter.timezone
    if zone is None:
        for i in np.flatnonzero(aware & utc.notna().to_numpy()):
            reasons[i] = (
                f"{raw[i]!r} is a UTC time or carries a UTC offset, but meter {meter.name!r} keeps "
                "wall-clock times without a zone: send the local time without an offset."
            )
        parsed = wall.where(~aware)
    else:
        local = apply_tz(pd.DatetimeIndex(wall), zone, [])
        for i in np.flatnonzero(np.asarray(local.isna()) & wall.notna().to_numpy()):
            reasons[i] = (
                f"{raw[i]!r} does not exist in {zone} (clocks moved forward): send the time with "
                "its UTC offset."
            )
        parsed = pd.Series(local, index=cells.index).where(~aware, utc.dt.tz_convert(zone))
    parsed = pd.DatetimeIndex(parsed)
    for i in np.flatnonzero(np.asarray(parsed.isna())):
        reasons.setdefault(
            i, f"{json.dumps(raw[i], default=str)[:60]} is not a time WattsUp reads: {_TIME_HINT}."
        )
    local = parsed if parsed.tz is None else parsed.tz_localize(None)
    ns = local.asi8
    ok = ~np.asarray(parsed.isna())
    for i in np.flatnonzero(ok & (ns % 1_000 != 0)):
        reasons.setdefault(i, f"{raw[i]!r} is finer than a microsecond: round it.")
    if meter.step is not None:
        step_ns = int(meter.step.value)
        anchor = 0 if meter.first is None else _wall_ns(meter.first)
        for i in np.flatnonzero(ok & ((ns - anchor) % step_ns != 0)):
            reasons.setdefault(
                i,
                f"{raw[i]!r} is not on the {step_text(meter.step)} step of meter {meter.name!r}: send "
                "times on its grid (resample first).",
            )
    bad = np.zeros(len(parsed), dtype=bool)
    bad[list(reasons)] = True
    return parsed.where(~bad), dict(sorted(reasons.items()))


_OFFSET = re.compile(r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.I)


_UNIX = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")


def _unix(column: pd.Series) -> pd.DatetimeIndex:
    """Unix seconds, milliseconds, micro- or nanoseconds, told apart by size one by one (UTC)."""
    num = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    out = pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns, UTC]")
    for unit, (lo, hi) in EPOCH_RANGES.items():
        part = (num >= lo) & (num < hi)
        if part.any():
            out[part] = pd.to_datetime(num[part], unit=unit, utc=True).as_unit("ns")
    index = pd.DatetimeIndex(out)
    years = index.year
    return index.where((years >= EARLIEST_YEAR) & (years <= LATEST_YEAR))


def _kinds(texts: list[str]) -> np.ndarray:
    """``_kind`` of each text, the regular expressions mapped in C (no Python call per cell)."""
    n = len(texts)
    unix = np.fromiter(map(bool, map(_UNIX.match, texts)), dtype=bool, count=n)
    offset = np.fromiter(map(bool, map(_OFFSET.search, map(str.strip, texts))), dtype=bool, count=n)
    return np.where(unix, "unix", np.where(offset, "offset", "wall"))


def _kind(cell: Any) -> str:
    """``unix`` (a number, or digits), ``offset`` (a time with a UTC offset or Z) or ``wall``."""
    if isinstance(cell, int | float) or (isinstance(cell, str) and _UNIX.match(cell)):
        return "unix"
    if isinstance(cell, str) and _OFFSET.search(cell.strip()):
        return "offset"
    return "wall"


def _wall_ns(when: pd.Timestamp) -> int:
    stamp = pd.Timestamp(when)
    return int((stamp.tz_localize(None) if stamp.tz is not None else stamp).as_unit("ns").value)
