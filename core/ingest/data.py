"""Bytes -> validated, typed frame, or a DataError that says what is wrong and where.

The canonical frame every model sees (``Dataset.frame``):

* a ``DatetimeIndex`` named ``timestamp``: sorted, unique, on a regular grid of ``Dataset.freq``;
* ``value``: float64 consumption per step in ``Dataset.unit`` (NaN where the reading is missing);
* optional covariates (``temperature`` is the canonical name for outdoor temperature); sub-meter
  columns (``core.ingest.columns.is_submeter``: ``Sub_metering_1``, ``submeter_hvac``) are covariates
  too, under lower-case snake-case names (``sub_metering_1``): context no detector reads, used to
  name the sub-meter behind an event (``core.detect.submeters``);
* optional ``label``: float 0/1 ground truth (NaN where unknown). Never used for fitting.

``Dataset.raw`` is the table as read (every row, every meter), with the timestamp column parsed.

Quality report keys (``QualityReport.fields``; ``to_dict()`` adds ``changes`` and ``warnings``).
Times are strings like ``2014-11-02 01:00``; a "runs" dict is
``{count, longest_steps, longest_start, examples: [{start, end, steps}]}`` (first 5 examples).

* ``source``: ``{filename, format, bytes, encoding, delimiter, decimal, header}``
* ``rows``: data rows read; ``columns``: column names as read
* ``timestamp_col``, ``value_col``, ``label_col``, ``covariate_cols`` (as named in the file),
  ``covariates`` (their names in the frame), ``submeters`` (the sub-meter covariates' names in the
  frame; a line in ``changes`` lists them), ``unused_cols`` (columns as read that play no role;
  named in a warning, so no column is dropped silently)
* ``meter_col``, ``meter`` (the id analysed), ``meters`` (first 50 ids), ``meter_count``
* ``unit``; ``unit_source``: ``schema``, ``column name``, ``assumed from a power column`` or ``default``
* ``timestamp_format`` (words), ``timezone`` (None when naive), ``time_col`` (a separate
  time-of-day column added to a date-only timestamp column, else None)
* ``row_numbering``: what the numbers in ``lines`` mean (CSV: file lines, header is line 1;
  JSON / Parquet: record numbers from 1)
* ``bad_lines``: ``{count, lines}`` CSV lines skipped because they had the wrong number of fields
* ``unparseable_timestamps``: ``{count, lines, examples}`` rows ignored: time missing or unreadable
* ``non_numeric_values``: ``{count, lines, examples}`` value cells that are not numbers (set missing)
* ``out_of_range_values``: ``{count, lines, examples}`` readings beyond ±1e15 or infinite (set missing;
  ``core.ingest.extract.MAX_ABS_VALUE``)
* ``missing_values``: empty value cells in the rows analysed
* ``unsorted_rows``: rows earlier than the row before them
* ``duplicate_timestamps``: ``{count, timestamps, examples, dst_fall_back}`` (count = extra rows)
* ``step`` (``"1h"``), ``step_seconds``: the file's step, the most common difference
* ``irregular_steps``: ``{count, off_grid_rows}`` differences that are not a multiple of the step
* ``gaps``: runs dict plus ``missing_steps`` and ``dst_spring_forward`` (steps absent from the file)
* ``negative_values``: count; ``zero_runs``: runs dict (2+ zeros); ``flat_runs``: runs dict plus
  ``min_steps`` (identical non-zero readings, a stuck meter)
* ``cumulative_register``: bool; ``register_resets``: resets handled when converting
* ``missing_total``: missing steps + missing readings on the file's grid, before filling
* ``resampled``: None or ``{from, to, how ("sum"|"mean"), incomplete_bins}``
* ``filled_steps``: steps filled by interpolation
* ``start``, ``end``, ``freq``, ``points``, ``valid_points``, ``missing_after_cleaning``: the frame
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.errors import DataError
from core.ingest import quality as q
from core.ingest.cleaning import ONE_TIMESTAMP, clean
from core.ingest.columns import (
    SchemaGuess,
    canonical_covariate_names,
    guess_columns,
    is_submeter,
    resolve,
)
from core.ingest.declared import check_upload
from core.ingest.extract import LINES_LISTED, report_bad_times, select_meter, typed_frame
from core.ingest.limits import MAX_UPLOAD_MB
from core.ingest.readers import RawTable, read_table
from core.ingest.timestamps import add_time_of_day, apply_tz, parse_timestamps, time_of_day_column

__all__ = [
    "MAX_UPLOAD_MB",
    "MIN_POINTS",
    "CleanOptions",
    "DataError",
    "Dataset",
    "QualityReport",
    "Schema",
    "SchemaGuess",
    "check_upload",
    "guess_schema",
    "parse_upload",
]

MIN_POINTS = 48  # fewer points than this and no model can learn a daily cycle


@dataclass(frozen=True)
class Schema:
    """Which column means what. ``None`` fields are inferred; the user may override any of them."""

    timestamp_col: str | None = None
    value_col: str | None = None
    meter_col: str | None = None
    meter: str | None = None
    label_col: str | None = None
    covariate_cols: tuple[str, ...] = ()
    unit: str | None = None
    tz: str | None = None


@dataclass(frozen=True)
class CleanOptions:
    """Cleaning for modelling. Every change made under these options is listed in the report."""

    freq: str | None = (
        None  # resample to this step ("15min", "30min", "1h", "1D"); None keeps the step
    )
    fill_limit: int = 3  # fill gaps up to this many steps by time interpolation
    cumulative_to_interval: bool = False  # turn a detected cumulative register into interval use


@dataclass
class QualityReport:
    """What the data looks like and every change cleaning made. ``to_dict`` is JSON-ready."""

    fields: dict[str, Any] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.fields, "changes": list(self.changes), "warnings": list(self.warnings)}


@dataclass(frozen=True)
class Dataset:
    """A parsed upload: the canonical frame plus everything needed to explain how it was made."""

    name: str
    frame: pd.DataFrame
    raw: pd.DataFrame
    schema: Schema
    report: QualityReport
    freq: pd.Timedelta
    unit: str
    digest: str

    @property
    def has_labels(self) -> bool:
        return "label" in self.frame.columns and self.frame["label"].notna().any()

    @property
    def covariates(self) -> list[str]:
        return [c for c in self.frame.columns if c not in ("value", "label")]


def upload_digest(data: bytes, schema: Schema, options: CleanOptions) -> str:
    """sha256 hex of the bytes and the settings that shape the frame: the key of every cache."""
    h = hashlib.sha256(data)
    h.update(repr(schema).encode())
    h.update(repr(options).encode())
    return h.hexdigest()


def guess_schema(data: bytes, filename: str) -> SchemaGuess:
    """Columns, the inferred role of each, candidates per role for select boxes, meters and unit."""
    check_upload(len(data), filename)
    try:
        return guess_columns(read_table(data, filename).frame)
    except DataError:
        raise
    except Exception as err:  # never a traceback in the app: one line instead
        raise _unexpected(err, filename) from err


def parse_upload(
    data: bytes,
    filename: str,
    schema: Schema = Schema(),
    options: CleanOptions = CleanOptions(),
    name: str | None = None,
) -> Dataset:
    """Read, validate and clean an upload into a :class:`Dataset`, or raise a one-line DataError."""
    check_upload(len(data), filename)
    try:
        return _parse(data, filename, schema, options, name or filename)
    except DataError:
        raise
    except Exception as err:  # never a traceback in the app: one line instead
        raise _unexpected(err, filename) from err


def _parse(data: bytes, filename: str, schema: Schema, options: CleanOptions, name: str) -> Dataset:
    table = read_table(data, filename)
    raw = table.frame
    roles = resolve(guess_columns(raw), schema, filename)
    covs = canonical_covariate_names(roles.covariate_cols)
    report = _describe(table, roles, covs, data, filename)
    f = report.fields
    times = parse_timestamps(raw[roles.timestamp_col])
    f["time_col"] = time_of_day_column(raw, roles.timestamp_col, times.values)
    if f["time_col"] is not None:
        times.values = add_time_of_day(times.values, raw[f["time_col"]])
        times.layout += f" date + time of day from column {f['time_col']!r}"
    _report_unused(roles, covs, f["time_col"], report)
    # One time in the whole file: refuse before the per-row work below (all-NaT is reported later).
    if times.values.min() == times.values.max():
        raise DataError(ONE_TIMESTAMP)
    rows = select_meter(raw, roles, schema, filename, report)
    ts = apply_tz(times.values[rows], schema.tz, times.notes)
    report.warnings.extend(times.notes)
    f["timestamp_format"], f["timezone"] = times.layout, None if ts.tz is None else str(ts.tz)
    report_bad_times(table, raw[roles.timestamp_col], rows, ts, filename, report)
    frame = typed_frame(raw, roles, covs, rows[~ts.isna()], ts[~ts.isna()], table, report)
    _check_enough(
        frame,
        roles.value_col,
        filename,
        "",
        f.get("out_of_range_values"),
        {**f["non_numeric_values"], "where": table.numbering.split(" (")[0]},
    )
    out = clean(frame, roles.unit, options)
    f.update(out.fields)
    report.changes.extend(out.changes)
    report.warnings.extend(out.warnings)
    result = out.frame
    _check_enough(
        result, roles.value_col, filename, f" after cleaning (step {q.step_label(out.freq)})"
    )
    f.update(
        start=q.fmt_time(result.index[0]),
        end=q.fmt_time(result.index[-1]),
        freq=q.step_label(out.freq),
        points=len(result),
        valid_points=int(result["value"].notna().sum()),
        missing_after_cleaning=int(result["value"].isna().sum()),
    )
    raw[roles.timestamp_col] = times.values
    digest = upload_digest(data, schema, options)
    return Dataset(name, result, raw, schema, report, out.freq, roles.unit, digest)


def _describe(
    table: RawTable, roles: SchemaGuess, covs: dict[str, str], data: bytes, filename: str
) -> QualityReport:
    """The report's first fields: where the table came from and which column plays which role."""
    report = QualityReport()
    report.fields.update(
        source={
            "filename": filename,
            "format": table.format,
            "bytes": len(data),
            "encoding": table.encoding,
            "delimiter": table.delimiter,
            "decimal": table.decimal,
            "header": table.header,
        },
        rows=len(table.frame),
        columns=list(table.frame.columns),
        timestamp_col=roles.timestamp_col,
        value_col=roles.value_col,
        label_col=roles.label_col,
        covariate_cols=list(covs),
        covariates=list(covs.values()),
        submeters=[canon for orig, canon in covs.items() if is_submeter(orig)],
        unit=roles.unit,
        unit_source=roles.unit_source,
        row_numbering=table.numbering,
        bad_lines={"count": len(table.bad_lines), "lines": table.bad_lines[:LINES_LISTED]},
    )
    if roles.unit_source == "default":
        report.warnings.append(
            f"No unit in the column name {roles.value_col!r}: assumed {roles.unit}; pick the unit if that is wrong."
        )
    if subs := [f"{o} -> {c}" for o, c in covs.items() if is_submeter(o)]:
        report.changes.append(
            f"Kept {len(subs)} sub-meter column{'s' if len(subs) > 1 else ''} as context "
            f"({', '.join(subs)}): not scored; used to name the sub-meter behind an event."
        )
    if table.bad_lines:
        report.warnings.append(
            f"Skipped {len(table.bad_lines)} lines with the wrong number of fields, e.g. line {table.bad_lines[0]}."
        )
    return report


def _report_unused(
    roles: SchemaGuess, covs: dict[str, str], time_col: str | None, report: QualityReport
) -> None:
    """Name the columns that play no role, so a column is never dropped without a word."""
    used = {roles.timestamp_col, roles.value_col, roles.meter_col, roles.label_col, time_col, *covs}
    unused = [c for c in roles.columns if c not in used]
    report.fields["unused_cols"] = unused
    if unused:
        shown = ", ".join(unused[:10]) + (
            f" and {len(unused) - 10} more" if len(unused) > 10 else ""
        )
        report.warnings.append(
            f"Not used: {shown} (pick a column as a covariate to keep it beside the readings)."
        )


def _check_enough(
    frame: pd.DataFrame,
    value_col: str,
    filename: str,
    when: str,
    far: dict | None = None,
    text: dict | None = None,
) -> None:
    valid = int(frame["value"].notna().sum())
    if valid == 0 and far and far["count"]:
        raise DataError(
            f"Value column {value_col!r} in {filename} has no reading within ±1e15: "
            f"{far['count']} are larger or infinite (e.g. {far['examples'][0]}): pick the column of "
            "meter readings, or check how the file was exported."
        )
    if valid == 0 and text and text["count"]:
        example = text["examples"][0]
        hint = (
            "if the numbers carry a thousands separator, export them without it"
            if re.fullmatch(r"-?\d{1,3}([,.' ]\d{3})+([.,]\d+)?", example)
            else "pick the column of meter readings"
        )
        raise DataError(
            f"Value column {value_col!r} in {filename} has no numeric readings: {text['count']} "
            f"cells are text, e.g. {example!r} on {text['where']} {text['lines'][0]}: {hint}."
        )
    if valid == 0:
        raise DataError(
            f"Value column {value_col!r} in {filename} has no numeric readings: pick another value column."
        )
    if valid < MIN_POINTS:
        raise DataError(
            f"Only {valid} valid readings in {filename}{when}; at least {MIN_POINTS} are needed: "
            "upload a longer period" + (" or a finer step." if when else ".")
        )


def _unexpected(err: Exception, filename: str) -> DataError:
    if isinstance(err, MemoryError):  # numpy, pyarrow and Python itself, under the worker's limit
        return DataError(
            f"{filename} needs more memory to read than this server allows for one upload: "
            "upload a shorter period, fewer columns or one meter at a time."
        )
    msg = (str(err).strip().splitlines() or [""])[0][:160]
    return DataError(
        f"{filename} could not be read ({type(err).__name__}: {msg}): check it is a CSV, JSON or Parquet table of timestamps and readings."
    )
