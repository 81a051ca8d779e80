"""One column of whatever a meter export calls time -> timestamps, NaT where a cell cannot be read.

Handles ISO 8601 (with or without a UTC offset), day-first and month-first dates
(``31-12-2011 01:00``, ``12/31/2011``), Unix seconds / milliseconds, and columns a reader already
typed. The layout is decided once on a sample and then applied to the whole column with an
explicit format, which is both fast and strict: a cell that does not fit becomes NaT and is
reported, never guessed.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import DataError

_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}")
_YMD = re.compile(r"^\d{4}([/.])\d{1,2}\1\d{1,2}")
_DMY = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")
_TIME_OF_DAY = re.compile(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?")
_TIME_OF_DAY_NAME = re.compile(r"^(time|hour|time_?of_?day|heure|zeit|uhrzeit|ora|hora)$", re.I)
_TIME_PARTS = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", "T%H:%M", "T%H:%M:%S")
EPOCH_RANGES = {  # unit -> plausible magnitudes (1973 .. 2286)
    "s": (1e8, 1e10),
    "ms": (1e11, 1e13),
    "us": (1e14, 1e16),
    "ns": (1e17, 1e19),
}
DISTINCT_SAMPLE = 10_000  # rows drawn to judge whether a text column repeats its times
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199  # meter data outside this is a typo; also keeps ns in range
EPOCH_NAMES = {
    "s": "unix seconds",
    "ms": "unix milliseconds",
    "us": "unix microseconds",
    "ns": "unix nanoseconds",
    "excel": "Excel serial dates",
}
# Excel's day numbers (days since 1899-12-30, the time of day as the fraction): 1954 .. 2119. Only a
# column named like a time, or picked as the timestamp column, is read so; they are wall-clock times.
EXCEL_RANGE = (2e4, 8e4)
EXCEL_ORIGIN = pd.Timestamp("1899-12-30")


@dataclass
class ParsedTimes:
    """Parsed timestamps (same length as the input) and how they were read."""

    values: pd.DatetimeIndex
    layout: str  # words: "ISO 8601", "day-first (%d-%m-%Y %H:%M)", "unix seconds", ...
    tz: str | None
    notes: list[str]


def epoch_unit(col: pd.Series) -> str | None:
    """The Unix epoch unit whose range fits the column's median, or None."""
    num = pd.to_numeric(col, errors="coerce")
    if not len(num) or num.notna().mean() < 0.5:
        return None
    med = float(np.nanmedian(np.abs(num.to_numpy(dtype="float64", na_value=np.nan))))
    for unit, (lo, hi) in EPOCH_RANGES.items():
        if lo <= med < hi:
            return unit
    if not EXCEL_RANGE[0] <= med < EXCEL_RANGE[1]:
        return None
    steps = np.diff(num.dropna().to_numpy(dtype="float64"))
    # day numbers of a file run forward (readings of a meter in that range go up and down)
    return "excel" if steps.size and (steps >= 0).mean() >= 0.9 else None


def from_numbers(num: pd.Series, unit: str, notes: list[str]) -> pd.DatetimeIndex:
    """Numbers in ``unit`` (an ``EPOCH_NAMES`` key) as times: Unix times in UTC, Excel serial dates
    as naive wall-clock times rounded to the second (their float fractions carry rounding)."""
    if unit == "excel":
        notes.append(
            "Timestamps read as Excel serial dates (days since 1899-12-30), as wall-clock times."
        )
        days = pd.to_timedelta(num.to_numpy(dtype="float64"), unit="D")
        return pd.DatetimeIndex(EXCEL_ORIGIN + days).round("s")
    notes.append(f"Timestamps read as {EPOCH_NAMES[unit]} (UTC).")
    return pd.DatetimeIndex(pd.to_datetime(num, unit=unit, errors="coerce")).tz_localize("UTC")


def parse_timestamps(col: pd.Series) -> ParsedTimes:
    """Parse one column; unreadable cells become NaT (the caller counts and reports them)."""
    notes: list[str] = []
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        out, layout = pd.DatetimeIndex(col), "ISO 8601 (read by the CSV reader)"
    elif pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        unit = epoch_unit(col)
        if unit is None:
            return ParsedTimes(
                pd.DatetimeIndex(pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")),
                "numbers that are not Unix times",
                None,
                notes,
            )
        num = pd.to_numeric(col, errors="coerce").astype("float64")
        out, layout = from_numbers(num, unit, notes), EPOCH_NAMES[unit]
    else:
        out, layout = _parse_distinct(col, notes)
    out = _plausible(out, notes)
    return ParsedTimes(out, layout, None if out.tz is None else str(out.tz), notes)


def parse_iso_texts(texts: list) -> ParsedTimes | None:
    """``parse_timestamps`` of a list of texts that all start as ISO 8601 dates (what an API
    request sends), without sampling the layout as a file needs; None when one does not start so
    (``parse_timestamps`` then reads them)."""
    if not texts or not all(isinstance(t, str) and _ISO.match(t) for t in texts):
        return None
    notes: list[str] = []
    out = _to_datetime(pd.Series([t.strip() for t in texts], dtype=object), "ISO8601", notes)
    out = _plausible(out, notes)
    return ParsedTimes(out, "ISO 8601", None if out.tz is None else str(out.tz), notes)


def _parse_distinct(col: pd.Series, notes: list[str]) -> tuple[pd.DatetimeIndex, str]:
    """Text parsed once per distinct value, then spread back over the rows.

    Meter files repeat their times (every meter of a long-format file has the same ones; a hostile
    file repeats one time 50 million times), and parsing text is the costliest step per row (the
    cells become Python strings). One parse per distinct value keeps that cost to the times there
    are. Where a sample shows the times hardly repeat, the column is parsed as it is: finding the
    distinct values would only add to the cost.
    """
    if _hardly_repeats(col):
        return _parse_text(col.astype("string").str.strip(), notes)
    codes, uniques = pd.factorize(col)
    text = pd.Series(uniques, name=col.name).astype("string").str.strip()
    parsed, layout = _parse_text(text, notes)
    out = parsed.take(codes, allow_fill=True, fill_value=pd.NaT)
    return out.rename(col.name), layout


def _hardly_repeats(col: pd.Series) -> bool:
    """True when rows drawn at random (seeded) are nearly all different values."""
    if len(col) <= 2 * DISTINCT_SAMPLE:
        return False  # small: finding the distinct values costs next to nothing
    rows = np.unique(np.random.default_rng(0).integers(0, len(col), DISTINCT_SAMPLE))
    sample = col.iloc[rows]
    return sample.nunique(dropna=False) >= 0.95 * len(sample)


def _parse_text(text: pd.Series, notes: list[str]) -> tuple[pd.DatetimeIndex, str]:
    present = text.dropna()
    present = present[present != ""]
    spread = max(1, len(present) // 1000)  # head plus rows from across the file: a late day 13
    sample = pd.concat([present.head(1000), present.iloc[::spread].head(1000)])
    if sample.empty:
        return pd.DatetimeIndex(
            pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
        ), "empty"
    if (sample.str.match(_ISO.pattern)).mean() > 0.5:
        return _to_datetime(text, "ISO8601", notes), "ISO 8601"
    parts = sample.str.extract(_DMY.pattern)
    if parts[0].notna().mean() > 0.5:
        return _day_or_month_first(text, sample, parts, notes)
    ymd = sample.str.extract(_YMD.pattern)
    if ymd[0].notna().mean() > 0.5:
        sep = ymd[0].dropna().iloc[0]
        name, fmt = _best_format(sample, [("year-first", f"%Y{sep}%m{sep}%d")])
        return _to_datetime(text, fmt, notes), f"{name} ({fmt})"
    unit = epoch_unit(sample)
    if unit is not None:
        num = pd.to_numeric(text, errors="coerce").astype("float64")
        return from_numbers(num, unit, notes), EPOCH_NAMES[unit]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _to_datetime(text, "mixed", notes), "free-form dates (parsed one by one)"


def _day_or_month_first(
    text: pd.Series, sample: pd.Series, parts: pd.DataFrame, notes: list[str]
) -> tuple[pd.DatetimeIndex, str]:
    """Day-first when a first field exceeds 12 or day-first parses more of the sample."""
    sep = parts[1].dropna().iloc[0]
    first = pd.to_numeric(parts[0], errors="coerce")
    second = pd.to_numeric(parts[2], errors="coerce")
    orders = [("day-first", f"%d{sep}%m{sep}%Y"), ("month-first", f"%m{sep}%d{sep}%Y")]
    if (second > 12).any() and not (first > 12).any():
        orders.reverse()
    name, fmt = _best_format(sample, orders)
    if not (first > 12).any() and not (second > 12).any():
        notes.append(f"Dates are ambiguous (no day above 12 in the first rows); read as {name}.")
    return _to_datetime(text, fmt, notes), f"{name} ({fmt})"


def _best_format(sample: pd.Series, dates: list[tuple[str, str]]) -> tuple[str, str]:
    """The (name, strftime format) of date + time layout that reads most of the sample."""
    best = (-1, "", "")
    for name, date_fmt in dates:
        for time_fmt in _TIME_PARTS:
            score = int(
                pd.to_datetime(sample, format=date_fmt + time_fmt, errors="coerce").notna().sum()
            )
            if score > best[0]:
                best = (score, name, date_fmt + time_fmt)
    return best[1], best[2]


def _to_datetime(text: pd.Series, fmt: str, notes: list[str]) -> pd.DatetimeIndex:
    try:
        return pd.DatetimeIndex(pd.to_datetime(text, format=fmt, errors="coerce"))
    except (
        ValueError,
        TypeError,
    ) as err:  # mixed UTC offsets (daylight saving) cannot share a column
        if "utc=True" not in str(err) and "imezone" not in str(err):
            raise
        notes.append("Timestamps carry different UTC offsets (daylight saving?); converted to UTC.")
        return pd.DatetimeIndex(pd.to_datetime(text, format=fmt, errors="coerce", utc=True))


def _plausible(values: pd.DatetimeIndex, notes: list[str]) -> pd.DatetimeIndex:
    """Years outside 1900-2199 are typing errors for meter data: they become NaT (and are reported)."""
    years = values.year
    bad = np.asarray((years < EARLIEST_YEAR) | (years > LATEST_YEAR))
    if not bad.any():
        return values
    notes.append(
        f"{int(bad.sum())} timestamps fall outside the years {EARLIEST_YEAR}-{LATEST_YEAR} and were treated as unreadable."
    )
    return values.where(~bad)


def time_of_day_column(frame: pd.DataFrame, date_col: str, dates: pd.DatetimeIndex) -> str | None:
    """A separate ``Time`` column (``13:45`` / ``13:45:00``) to add to a date-only column, if any."""
    if dates.notna().sum() == 0 or (dates.dropna().normalize() != dates.dropna()).any():
        return None
    for col in frame.columns:
        if col != date_col and _TIME_OF_DAY_NAME.match(str(col)):
            sample = frame[col].dropna().head(500).astype("string").str.strip()
            if len(sample) and sample.str.fullmatch(_TIME_OF_DAY.pattern).mean() >= 0.8:
                return col
    return None


def add_time_of_day(dates: pd.DatetimeIndex, times: pd.Series) -> pd.DatetimeIndex:
    """Date + ``HH:MM[:SS]``; a time that does not read leaves the row NaT."""
    text = times.astype("string").str.strip()
    text = text.where(text.str.count(":") != 1, text + ":00")
    delta = pd.to_timedelta(text.where(text.str.fullmatch(_TIME_OF_DAY.pattern)), errors="coerce")
    return pd.DatetimeIndex(dates + pd.TimedeltaIndex(delta))


def apply_tz(values: pd.DatetimeIndex, tz: str | None, notes: list[str]) -> pd.DatetimeIndex:
    """Convert aware times to ``tz``; read naive times as wall-clock time in ``tz``.

    Call it on one meter's rows in file order: of two readings at an ambiguous fall-back time the
    first is taken as summer time, the second as winter time. Spring-forward times that never
    existed in ``tz`` become NaT, so they are reported with the unreadable rows.
    """
    if tz is None:
        return values
    try:
        pd.Timestamp(0).tz_localize(tz)
    except Exception as err:  # pytz / zoneinfo raise different types for unknown names
        raise DataError(
            f"Time zone {tz!r} is not known: use a name like Europe/Paris, America/Chicago or UTC."
        ) from err
    if values.tz is not None:
        notes.append(f"Timestamps converted from {values.tz} to {tz}.")
        return values.tz_convert(tz)
    first = ~values.duplicated(keep="first")
    out = values.tz_localize(tz, ambiguous=np.asarray(first), nonexistent="NaT")
    lost = int((out.isna() & values.notna()).sum())
    notes.append(f"Timestamps read as local time in {tz}.")
    if lost:
        notes.append(
            f"{lost} timestamps do not exist in {tz} (clocks moved forward) and were treated as unreadable."
        )
    return out
