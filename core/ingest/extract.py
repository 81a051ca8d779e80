"""The rows of the chosen meter -> a float frame on parsed timestamps, reporting what was unusable.

Helpers of :func:`core.ingest.data.parse_upload`; ``report`` is its :class:`core.ingest.data.QualityReport`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.errors import DataError
from core.ingest.columns import SchemaGuess
from core.ingest.readers import NULL_TOKENS, RawTable

NULL_LOWER = sorted({t.lower() for t in NULL_TOKENS})
LINES_LISTED = 10  # line numbers listed per finding; counts are always complete
# Larger than any meter reads (a petawatt-hour per reading); past it sums and squares lose their digits
# and infinities follow, so such readings are refused as missing, reported.
MAX_ABS_VALUE = 1e15


def select_meter(
    raw: pd.DataFrame, roles: SchemaGuess, schema: Any, filename: str, report: Any
) -> np.ndarray:
    """Row positions of the meter analysed (all rows when there is no meter column)."""
    f = report.fields
    f.update(meter_col=roles.meter_col, meter=None, meters=[], meter_count=0)
    if roles.meter_col is None:
        if schema.meter is not None:
            raise DataError(
                f"Meter {schema.meter!r} was asked for but {filename} has no meter or building id column: "
                "pick the meter column, or leave the meter empty."
            )
        return np.arange(len(raw))
    ids = raw[roles.meter_col].astype("string")
    meters = [str(m) for m in pd.unique(ids.dropna())]
    f.update(meters=meters[:50], meter_count=len(meters))
    if schema.meter is not None and str(schema.meter) not in meters:
        raise DataError(
            f"Meter {schema.meter!r} not found in column {roles.meter_col!r} of {filename}: choose one of {', '.join(meters[:10])}."
        )
    if not meters:
        return np.arange(len(raw))
    meter = str(schema.meter) if schema.meter is not None else meters[0]
    f["meter"] = meter
    if len(meters) == 1:
        report.warnings.append(f"One meter in the file: {roles.meter_col} = {meter}.")
        return np.arange(len(raw))
    report.warnings.append(
        f"The file holds {len(meters)} meters; analysing {roles.meter_col} = {meter} (pick another meter to change)."
    )
    return np.flatnonzero((ids == meter).fillna(False).to_numpy())


def report_bad_times(
    table: RawTable,
    col: pd.Series,
    rows: np.ndarray,
    ts: pd.DatetimeIndex,
    filename: str,
    report: Any,
) -> None:
    bad = rows[np.asarray(ts.isna())]
    examples = [
        str(v) for v in pd.unique(col.iloc[bad[:200]].astype("string").fillna("(empty)"))[:5]
    ]
    report.fields["unparseable_timestamps"] = {
        "count": int(bad.size),
        "lines": table.rows_to_lines(bad[:LINES_LISTED]),
        "examples": examples,
    }
    if bad.size == rows.size:
        where = table.rows_to_lines(bad[:1])[0] if bad.size else 0
        raise DataError(
            f"No value in timestamp column {col.name!r} of {filename} reads as a date/time "
            f"(e.g. {examples[0] if examples else '(empty)'!r} on {table.numbering.split(' (')[0]} {where}): "
            "pick the right column or write times like 2024-01-31 13:00."
        )
    if bad.size:
        lines = ", ".join(str(n) for n in report.fields["unparseable_timestamps"]["lines"][:5])
        report.warnings.append(
            f"Ignored {bad.size} rows whose timestamp is missing or unreadable ({table.numbering.split(' (')[0]} {lines}...)."
        )


def typed_frame(raw, roles, covs, rows, stamps, table, report) -> pd.DataFrame:
    """value / covariates / label as float on the parsed timestamps, reporting what was not a number."""
    col = _take(raw, roles.value_col, rows)
    value = to_float(col, table.decimal)
    if _numeric(col.dtype):  # typed by the reader: nothing can be text, only missing
        empty, bad, text = value.isna(), np.array([], dtype=np.int64), col
    else:
        text = col.astype("string").str.strip()
        empty = text.isna() | text.str.lower().isin(NULL_LOWER)
        bad = np.flatnonzero((value.isna() & ~empty).to_numpy())
    report.fields["non_numeric_values"] = {
        "count": int(bad.size),
        "lines": table.rows_to_lines(rows[bad[:LINES_LISTED]]),
        "examples": [str(v) for v in pd.unique(text.iloc[bad[:200]])[:5]],
    }
    if bad.size:
        report.changes.append(
            f"Treated {bad.size} non-numeric readings as missing, e.g. {report.fields['non_numeric_values']['examples'][0]!r}."
        )
    report.fields["missing_values"] = int(empty.sum())
    values = value.to_numpy(dtype="float64", na_value=np.nan)
    values = _in_range(values, rows, table, report)
    index = pd.DatetimeIndex(stamps, name="timestamp").as_unit("ns")
    frame = pd.DataFrame({"value": values}, index=index)
    for orig, canon in covs.items():
        cov = _take(raw, orig, rows)
        num = to_float(cov, table.decimal)
        if not _numeric(cov.dtype):
            text = cov.astype("string").str.strip()
            bad_cov = num.isna() & text.notna() & ~text.str.lower().isin(NULL_LOWER)
            if bad_cov.any():
                report.warnings.append(
                    f"Covariate {orig!r}: {int(bad_cov.sum())} non-numeric cells treated as missing, e.g. {text[bad_cov].iloc[0]!r}."
                )
        cov_values = num.to_numpy(dtype="float64", na_value=np.nan)
        far = _out_of_range(cov_values)
        if far.any():
            report.warnings.append(
                f"Covariate {orig!r}: {int(far.sum())} cells beyond ±{MAX_ABS_VALUE:.0e} (or infinite) "
                f"treated as missing, e.g. {cov_values[far][0]:g}."
            )
            cov_values = np.where(far, np.nan, cov_values)
        frame[canon] = cov_values
    if roles.label_col is not None:
        lab = _take(raw, roles.label_col, rows)
        if not _numeric(lab.dtype):
            lab = lab.astype("string").str.strip().str.lower().replace({"true": "1", "false": "0"})
        lab = pd.to_numeric(lab, errors="coerce").astype("float64")
        frame["label"] = lab.where(lab.isin([0, 1])).to_numpy(dtype="float64", na_value=np.nan)
    return frame


def beyond_any_meter(value: float) -> str | None:
    """Why a single reading past ``MAX_ABS_VALUE`` is refused (the API's sentence), else None."""
    if abs(value) <= MAX_ABS_VALUE:
        return None
    return (
        f"{value:g} is beyond ±{MAX_ABS_VALUE:.0e}, more than any meter reads: check the value "
        "and its unit"
    )


def _out_of_range(values: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isinf(values) | (np.abs(values) > MAX_ABS_VALUE)


def _in_range(values: np.ndarray, rows: np.ndarray, table: RawTable, report: Any) -> np.ndarray:
    """``values`` with readings beyond ``MAX_ABS_VALUE`` (or infinite) set missing, reported."""
    far = np.flatnonzero(_out_of_range(values))
    report.fields["out_of_range_values"] = {
        "count": int(far.size),
        "lines": table.rows_to_lines(rows[far[:LINES_LISTED]]),
        "examples": [f"{v:g}" for v in pd.unique(values[far[:200]])[:5]],
    }
    if not far.size:
        return values
    lines = ", ".join(str(n) for n in report.fields["out_of_range_values"]["lines"][:5])
    report.changes.append(
        f"Treated {far.size} readings beyond ±{MAX_ABS_VALUE:.0e} (or infinite) as missing, e.g. "
        f"{report.fields['out_of_range_values']['examples'][0]} on {table.numbering.split(' (')[0]} "
        f"{lines}: no meter reads that much; check the value column and its unit."
    )
    values = values.copy()  # the reader's array may be read-only
    values[far] = np.nan
    return values


def _take(raw: pd.DataFrame, col: str, rows: np.ndarray) -> pd.Series:
    """The column at ``rows`` (sorted positions); no copy when that is every row."""
    return raw[col] if rows.size == len(raw) else raw[col].iloc[rows]


def _numeric(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def to_float(col: pd.Series, decimal: str | None = ".") -> pd.Series:
    """Numbers as float64; text that is not a number becomes NaN (the caller reports it).

    ``1,5`` is read as 1.5 only when the file uses a decimal comma: in a comma-separated file a
    quoted ``1,234`` is more likely a thousands separator, so it is reported rather than guessed.
    """
    if _numeric(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        return col.astype("float64")
    text = col.astype("string").str.strip()
    num = pd.to_numeric(text, errors="coerce")
    if decimal == ",":
        comma = num.isna() & text.str.fullmatch(r"-?\d+,\d+").fillna(False)
        if comma.any():
            num[comma] = pd.to_numeric(
                text[comma].str.replace(",", ".", regex=False), errors="coerce"
            )
    return num.astype("float64")
