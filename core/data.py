"""Bytes -> validated, typed frame, or a DataError that says what is wrong and where.

The canonical frame every model sees (``Dataset.frame``):

* a ``DatetimeIndex`` named ``timestamp``: sorted, unique, on a regular grid of ``Dataset.freq``;
* ``value``: float64 consumption per step in ``Dataset.unit`` (NaN where the reading is missing);
* optional covariates (``temperature`` is the canonical name for outdoor temperature);
* optional ``label``: float 0/1 ground truth (NaN where unknown). Never used for fitting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

MAX_UPLOAD_MB = 200  # keep in sync with .streamlit/config.toml [server] maxUploadSize
MIN_POINTS = 48  # fewer points than this and no model can learn a daily cycle


class DataError(ValueError):
    """Input that cannot be used. ``str(err)`` is one line: what is wrong, where, what to do."""


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
