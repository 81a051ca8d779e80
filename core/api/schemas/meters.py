"""Meters: what ``POST /v1/meters`` takes and what the meter routes answer.

``MeterCreate`` keys: ``name`` (the meter's id in every route: 1-200 characters, no ``/``),
``unit`` (Wh, kWh, MWh, W, kW, MW; energy units are summed and power units averaged when
resampled), ``step`` (the readings' grid, ``15min``, ``1h``, ``1D``; readings off it are
rejected), ``timezone`` (IANA name; readings then need a UTC offset, or are read as wall-clock time
there; omitted = wall-clock times without a zone), ``site``, ``building_type``, ``covariates``
(names of the other numbers each reading may carry, e.g. ``temperature``; new names are also
learned from readings).

``MeterOut`` keys: the same, plus ``readings`` (count), ``first`` / ``last`` (the stored span,
null when empty) and ``created``. ``MeterDeleted``: ``name`` and ``readings_deleted``.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.api.schemas.common import RequestBody
from core.store.meters import UNITS

Unit = Literal[UNITS]  # type: ignore[valid-type]  # the store's list

EXAMPLE = {
    "name": "hall-7",
    "unit": "kWh",
    "timezone": "Europe/Amsterdam",
    "step": "1h",
    "site": "Campus North",
    "building_type": "office",
    "covariates": ["temperature"],
}


class MeterCreate(RequestBody):
    """A new meter (no readings yet)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    name: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^/\s]([^/\x00-\x1f]*[^/\s])?$",
        description="the meter's id in every route: 1-200 characters, no '/', no control "
        "characters, no space at either end",
    )
    unit: Unit | None = Field(None, description="the readings' unit")
    step: str | None = Field(
        None, max_length=20, description="the readings' grid, e.g. 15min, 1h, 1D; omit if irregular"
    )
    timezone: str | None = Field(None, max_length=64, description="IANA time zone of the meter")
    site: str | None = Field(None, max_length=200)
    building_type: str | None = Field(None, max_length=100)
    covariates: list[str] = Field(
        default_factory=list, max_length=100, description="names of the other numbers a reading has"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str | None) -> str | None:
        if zone is not None and zone not in _zones():
            raise ValueError(f"{zone!r} is not an IANA time zone: use one like Europe/Paris or UTC")
        return zone

    @field_validator("covariates")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not name.strip() or len(name) > 100 or name in ("timestamp", "value"):
                raise ValueError(
                    f"{name!r} cannot name a covariate: 1-100 characters, not timestamp or value"
                )
        if len(set(names)) != len(names):
            raise ValueError("names a covariate twice")
        return names


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


class MeterOut(BaseModel):
    """A stored meter and the span of its readings."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **EXAMPLE,
                    "owner": None,
                    "readings": 8760,
                    "first": "2024-01-01T00:00:00+01:00",
                    "last": "2024-12-31T23:00:00+01:00",
                    "created": "2025-01-02T09:30:00+00:00",
                }
            ]
        }
    )

    name: str
    owner: str | None = Field(None, description="null: the workspace (users arrive later)")
    unit: str | None
    timezone: str | None
    step: str | None
    site: str | None
    building_type: str | None
    covariates: list[str]
    readings: int = Field(description="readings stored")
    first: str | None = Field(description="first stored reading's time, null when none")
    last: str | None = Field(description="last stored reading's time, null when none")
    created: str | None


class MeterDeleted(BaseModel):
    """What a delete removed."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "hall-7", "readings_deleted": 8760}]}
    )

    name: str
    readings_deleted: int = Field(description="readings removed with the meter")
