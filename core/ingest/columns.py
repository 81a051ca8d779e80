"""Which column means what: timestamp, value, meter id, label, covariates, and the unit.

Inference looks at names first (``Datetime``, ``COMED_MW``, ``building_id``, ``anomaly``, ``temp``)
and at contents second (does it parse as time, is it numeric, is it 0/1). A :class:`core.ingest.data.Schema`
field that is set always wins; a set field that names a missing column is a :class:`DataError`.

Sub-meters (:func:`is_submeter`): a numeric column whose name holds ``sub`` followed by ``meter``,
with at most one space, ``_``, ``-`` or ``.`` between them, case-insensitive (``Sub_metering_1`` as in
the UCI household file, ``submeter_hvac``, ``Sub-meter 2 [kWh]``, ``SubMeter3``). They are guessed
as covariates (context, after the temperature column), offered last as the value, and carried into
the frame under a canonical name (:func:`canonical_covariate_names`): lower case, every run of other
characters ``_`` (``Sub-meter 2 [kWh]`` -> ``sub_meter_2_kwh``), which still matches the rule, so
``submeter_columns(frame.columns)`` finds them again downstream. No detector reads them (detectors
read ``value`` and ``temperature``); ``core.detect.submeters`` uses them to name the sub-meter that
explains an event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from core.errors import DataError
from core.ingest.timestamps import epoch_unit, parse_timestamps

ENERGY_UNITS = ("Wh", "kWh", "MWh")  # per-step amounts: summed when resampling
POWER_UNITS = ("W", "kW", "MW")  # rates: averaged when resampling
UNITS = ENERGY_UNITS + POWER_UNITS
DEFAULT_UNIT = "kWh"

_TIME_NAME = re.compile(
    r"(^|_|\b)(timestamp|datetime|date_?time|time|date|ts|period|interval|epoch|unix)(_|\b|$)", re.I
)
_ENERGY_NAME = re.compile(
    r"(kwh|mwh|wh|kw|mw|power|load|energy|consum|demand|usage|reading|meter_?value|value|active|import)",
    re.I,
)
_TEMP_NAME = re.compile(
    r"^(temp|temperature|air_?temp(erature)?|outdoor_?temp(erature)?|oat|t_?out|t_?ext|outside_?temp(erature)?|ambient_?temp(erature)?|dry_?bulb)(_?\(?(c|f|°c|degc)\)?)?$",
    re.I,
)
_SUBMETER_NAME = re.compile(r"sub[\s_\-.]?meter", re.I)
_LABEL_NAME = re.compile(
    r"^(is_?)?(anomal(y|ies|ous)|labels?|outliers?|is_?outlier|fault|target|ground_?truth)$", re.I
)
_METER_NAME = re.compile(
    r"(^|_)(building|meter|site|device|sensor|customer|house|household|station)(_?(id|name|no|number))?$|^id$",
    re.I,
)
_UNIT_TOKEN = re.compile(r"(?:^|[\s_\-\[\(\.])(mwh|kwh|wh|mw|kw|w)(?:$|[\s_\-\]\)\.])", re.I)
_UNIT_CANON = {u.lower(): u for u in UNITS}


@dataclass
class SchemaGuess:
    """What inference found in a file, and the choices to offer for each role in the UI."""

    columns: list[str]
    timestamp_col: str | None
    value_col: str | None
    meter_col: str | None = None
    label_col: str | None = None
    covariate_cols: list[str] = field(default_factory=list)
    candidates: dict[str, list[str]] = field(default_factory=dict)  # role -> columns, best first
    meters: list[str] = field(default_factory=list)  # distinct ids in file order (long format)
    unit: str = DEFAULT_UNIT
    unit_source: str = (
        "default"  # "schema" | "column name" | "assumed from a power column" | "default"
    )
    rows: int = 0


def canonical_unit(unit: str) -> str:
    """``"kwh"`` -> ``"kWh"``; an unknown unit is a DataError naming the choices."""
    canon = _UNIT_CANON.get(unit.strip().lower())
    if canon is None:
        raise DataError(f"Unit {unit!r} is not known: choose one of {', '.join(UNITS)}.")
    return canon


def unit_from_name(name: str) -> tuple[str, str]:
    """Unit and where it came from, read off a column name (``COMED_MW`` -> MW)."""
    match = _UNIT_TOKEN.search(name)
    if match:
        return _UNIT_CANON[match.group(1).lower()], "column name"
    if re.search(r"power", name, re.I):
        return "kW", "assumed from a power column"
    return DEFAULT_UNIT, "default"


def is_submeter(name: str) -> bool:
    """Whether a column name looks like a sub-meter (the rule in the module docstring)."""
    return bool(_SUBMETER_NAME.search(str(name)))


def submeter_columns(columns) -> list[str]:
    """The sub-meter columns among ``columns``, in their order (``value`` and ``label`` never)."""
    return [c for c in columns if c not in ("value", "label") and is_submeter(c)]


def unit_in_name(name: str) -> str | None:
    """The unit token in a column name (``sub_meter_2_kwh`` -> ``kWh``), None when there is none."""
    match = _UNIT_TOKEN.search(str(name))
    return _UNIT_CANON[match.group(1).lower()] if match else None


def _is_numeric(col: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(col.dtype):
        return False
    if pd.api.types.is_numeric_dtype(col.dtype):
        return True
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return False
    sample = col.dropna().head(500)
    sample = sample[sample.astype("string").str.strip() != ""]
    if sample.empty:
        return False
    as_num = pd.to_numeric(
        sample.astype("string").str.replace(",", ".", regex=False), errors="coerce"
    )
    return bool(as_num.notna().mean() >= 0.5)


def _is_label(col: pd.Series) -> bool:
    vals = pd.to_numeric(
        col.dropna().head(5000).astype("string").str.lower().replace({"true": "1", "false": "0"}),
        errors="coerce",
    )
    return len(vals) > 0 and bool(vals.isin([0, 1]).all())


def _parses_as_time(col: pd.Series) -> bool:
    head = col.dropna().head(200)
    if head.empty:
        return False
    if pd.api.types.is_numeric_dtype(head.dtype):
        return epoch_unit(head) is not None
    return bool(parse_timestamps(head.reset_index(drop=True)).values.notna().mean() >= 0.8)


def _id_like(col: pd.Series) -> bool:
    """Text or whole numbers repeating often enough to name a few meters."""
    if pd.api.types.is_float_dtype(col.dtype) or pd.api.types.is_datetime64_any_dtype(col.dtype):
        return False
    return 0 < col.nunique() <= max(1, len(col) // 10)


def guess_columns(frame: pd.DataFrame) -> SchemaGuess:
    """Roles and candidates for every column of a raw table."""
    cols = list(frame.columns)
    typed_time = [c for c in cols if pd.api.types.is_datetime64_any_dtype(frame[c].dtype)]
    named_time = [c for c in cols if _TIME_NAME.search(c) and c not in typed_time]
    ts_cands = typed_time + [c for c in named_time if _parses_as_time(frame[c])]
    if not ts_cands:
        ts_cands = [
            c
            for c in cols
            if not pd.api.types.is_numeric_dtype(frame[c].dtype) and _parses_as_time(frame[c])
        ]
    ts = ts_cands[0] if ts_cands else None
    rest = [c for c in cols if c != ts]
    labels = [c for c in rest if _LABEL_NAME.match(c) and _is_label(frame[c])]
    meters = [
        c
        for c in rest
        if _METER_NAME.search(c)
        and c not in labels
        and not pd.api.types.is_float_dtype(frame[c].dtype)
        and frame[c].nunique() <= max(1, len(frame) // 2)
    ]
    numeric = [c for c in rest if c not in labels and c not in meters and _is_numeric(frame[c])]
    temps = [c for c in numeric if _TEMP_NAME.match(c)]
    values = [c for c in numeric if c not in temps]
    energy = [c for c in values if _ENERGY_NAME.search(c)]
    empty = [c for c in rest if c not in labels + meters + numeric and frame[c].isna().all()]
    values = energy + [c for c in values if c not in energy]
    subs = [c for c in values if is_submeter(c)]  # part of the meter: the value only if alone
    values = [c for c in values if c not in subs] + subs + empty  # empty: "all missing" later
    value = values[0] if values else None
    guess = SchemaGuess(
        columns=cols,
        timestamp_col=ts,
        value_col=value,
        meter_col=meters[0] if meters else None,
        label_col=labels[0] if labels else None,
        covariate_cols=temps[:1] + [c for c in subs if c != value] if value is not None else [],
        candidates={
            "timestamp": ts_cands + [c for c in cols if c not in ts_cands],
            "value": values + temps,
            "meter": meters
            + [c for c in rest if c not in meters + labels + [value] and _id_like(frame[c])],
            "label": labels,
            "covariate": temps + [c for c in values if c != value],
        },
        rows=len(frame),
    )
    if guess.meter_col is not None:
        guess.meters = [str(m) for m in pd.unique(frame[guess.meter_col].dropna())]
    if value is not None:
        guess.unit, guess.unit_source = unit_from_name(value)
    return guess


def resolve(guess: SchemaGuess, schema, filename: str) -> SchemaGuess:
    """Apply the user's choices on top of the guess; say clearly which choice does not fit."""
    cols = guess.columns

    def check(col: str | None, role: str) -> None:
        if col is not None and col not in cols:
            raise DataError(
                f"{role} column {col!r} not found in {filename}: the columns are {', '.join(cols)}."
            )

    check(schema.timestamp_col, "Timestamp")
    check(schema.value_col, "Value")
    check(schema.meter_col, "Meter")
    check(schema.label_col, "Label")
    for c in schema.covariate_cols:
        check(c, "Covariate")
    ts = schema.timestamp_col or guess.timestamp_col
    if ts is None:
        raise DataError(
            f"No timestamp column found in {filename} (columns: {', '.join(cols)}): add a date/time column or pick it as the timestamp column."
        )
    value = schema.value_col or (guess.value_col if guess.value_col != ts else None)
    if value is None:
        raise DataError(
            f"No numeric value column found in {filename} (columns: {', '.join(cols)}): add a column of meter readings or pick it as the value column."
        )
    meter_col = schema.meter_col or guess.meter_col
    label = schema.label_col or guess.label_col
    if schema.covariate_cols:
        covs = list(schema.covariate_cols)
    else:
        covs = [c for c in guess.covariate_cols if c not in (value, ts)]
    covs = [c for c in covs if c not in (value, ts, meter_col, label)]
    out = SchemaGuess(
        columns=cols,
        timestamp_col=ts,
        value_col=value,
        meter_col=meter_col,
        label_col=label,
        covariate_cols=covs,
        candidates=guess.candidates,
        meters=guess.meters,
        rows=guess.rows,
    )
    if schema.unit:
        out.unit, out.unit_source = canonical_unit(schema.unit), "schema"
    else:
        out.unit, out.unit_source = unit_from_name(value)
    return out


def canonical_covariate_names(covs: list[str]) -> dict[str, str]:
    """Original -> canonical: the first temperature-like column becomes ``temperature``; sub-meters
    become lower-case snake case (``Sub_metering_1`` -> ``sub_metering_1``); others keep their name."""
    names: dict[str, str] = {}
    taken = {"value", "label"}
    for c in covs:
        if _TEMP_NAME.match(c) and "temperature" not in taken:
            name = "temperature"
        elif is_submeter(c):
            name = re.sub(r"[^0-9a-z]+", "_", c.lower()).strip("_")
        else:
            name = c
        if name in taken:
            name = f"{name}_covariate"
        names[c] = name
        taken.add(name)
    return names
