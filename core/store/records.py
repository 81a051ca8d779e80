"""What the meter repository returns: a stored ``Meter`` and an import's ``ImportResult``.

``ImportResult`` sorts every reading of an imported frame into one of three counts (``inserted``,
``unchanged``, ``conflicting``); ``core.store.meters`` documents the counts and the conflict policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pandas as pd

from core.errors import DataError

ConflictPolicy = Literal["keep", "replace", "skip"]
POLICIES: tuple[str, ...] = ("keep", "replace", "skip")


@dataclass(frozen=True)
class Meter:
    """A stored meter; ``readings``, ``first`` and ``last`` describe its data."""

    id: int
    name: str
    owner: str | None
    unit: str | None
    timezone: str | None
    step: pd.Timedelta | None
    site: str | None
    building_type: str | None
    columns: tuple[str, ...]
    created: datetime
    readings: int = 0
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (times as ISO text, step as ``1h``-style text)."""

        def iso(t) -> str | None:
            return None if t is None else t.isoformat()

        return {
            "name": self.name,
            "owner": self.owner,
            "unit": self.unit,
            "timezone": self.timezone,
            "step": None if self.step is None else step_text(self.step),
            "site": self.site,
            "building_type": self.building_type,
            "covariates": list(self.columns),
            "readings": self.readings,
            "first": iso(self.first),
            "last": iso(self.last),
            "created": iso(self.created),
        }


@dataclass(frozen=True)
class ImportResult:
    """What an import did: every reading of the frame is in exactly one of the three counts."""

    meter: str
    policy: str
    created: bool
    inserted: int
    unchanged: int
    conflicting: int
    conflicts: pd.DatetimeIndex  # timestamps stored with another value, in time order

    @property
    def readings(self) -> int:
        return self.inserted + self.unchanged + self.conflicting

    @property
    def replaced(self) -> int:
        return self.conflicting if self.policy == "replace" else 0

    @property
    def skipped(self) -> bool:
        """True when the skip policy met conflicts, so nothing was written."""
        return self.policy == "skip" and self.conflicting > 0

    @property
    def changed(self) -> bool:
        return not self.skipped and (self.inserted > 0 or self.replaced > 0)

    def message(self) -> str:
        """One line for people."""
        if self.skipped:
            return (
                f"{self.meter}: nothing imported: {self.conflicting} of {self.readings} readings "
                f"conflict with stored values (first {self.conflicts[0]}); choose keep or replace."
            )
        if not self.changed and not self.conflicting:
            return f"{self.meter}: nothing changed: all {self.readings} readings already stored."
        text = f"{self.meter}: {self.inserted} readings added, {self.unchanged} already stored"
        if self.conflicting:
            verb = "replaced by the file's" if self.policy == "replace" else "kept as stored"
            text += f", {self.conflicting} conflicting {verb} (first {self.conflicts[0]})"
        return text + "."

    def to_dict(self, max_listed: int = 100) -> dict[str, Any]:
        """JSON-ready; the first ``max_listed`` conflicting timestamps (``conflicts_listed`` says how many)."""
        listed = [t.isoformat() for t in self.conflicts[:max_listed]]
        return {
            "meter": self.meter,
            "policy": self.policy,
            "created": self.created,
            "readings": self.readings,
            "inserted": self.inserted,
            "unchanged": self.unchanged,
            "conflicting": self.conflicting,
            "replaced": self.replaced,
            "skipped": self.skipped,
            "changed": self.changed,
            "conflicts": listed,
            "conflicts_listed": len(listed),
            "message": self.message(),
        }


def step_seconds(step: pd.Timedelta | str | None) -> int | None:
    if step is None:
        return None
    seconds = pd.Timedelta(step).total_seconds()
    if seconds <= 0 or seconds != int(seconds):
        raise DataError(f"a meter's step is a whole number of seconds > 0, got {step}.")
    return int(seconds)


def index_step(index: pd.DatetimeIndex) -> pd.Timedelta | None:
    """The index's own ``freq`` as a step (parse_upload sets it), None when it has none."""
    try:
        return None if index.freq is None else pd.Timedelta(index.freq)
    except (TypeError, ValueError):  # a calendar offset such as month-end has no fixed length
        return None


def step_text(step: pd.Timedelta) -> str:
    seconds = int(step.total_seconds())
    for unit, size in (("D", 86_400), ("h", 3_600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
