"""What every body shares: the request base, ``Time`` and JSON-ready values."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from core.ingest.extract import MAX_ABS_VALUE, beyond_any_meter
from core.ingest.timestamps import EARLIEST_YEAR, LATEST_YEAR


class RequestBody(BaseModel):
    """A request body: unknown fields are refused by name, NaN and Infinity are not numbers."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _plausible(when: datetime) -> datetime:
    if not EARLIEST_YEAR <= when.year <= LATEST_YEAR:
        raise ValueError(
            f"year {when.year} is outside {EARLIEST_YEAR}-{LATEST_YEAR}: meter data never is"
        )
    return when


Time = Annotated[datetime, AfterValidator(_plausible)]
"""An ISO 8601 time (or Unix seconds) in the years 1900-2199; naive = the meter's wall clock."""


def _meter_sized(value: float) -> float:
    too_large = beyond_any_meter(value)
    if too_large is not None:
        raise ValueError(too_large)
    return value


Reading = Annotated[
    float,
    AfterValidator(_meter_sized),
    Field(json_schema_extra={"minimum": -MAX_ABS_VALUE, "maximum": MAX_ABS_VALUE}),
]
"""A reading: a finite number within ±1e15 (``core.ingest.extract.MAX_ABS_VALUE``), as files are read."""


def iso(when: Any) -> str | None:
    """ISO 8601 text of a timestamp, None for None / NaT."""
    if when is None or (not isinstance(when, str) and pd.isna(when)):
        return None
    return pd.Timestamp(when).isoformat()


def number(x: Any) -> float | None:
    """A finite float, else None (JSON has no NaN)."""
    if x is None:
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
