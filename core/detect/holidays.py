"""Public holidays: which country a meter is in (guessed from its time zone), and which readings fall
on a holiday, by name. Holiday events are typed ``holiday`` (``core.detect.events``) and can be counted
as normal (``ThresholdSettings.holidays_normal``).

Holidays come from the ``holidays`` package (offline, no download); the time zone -> country guess reads
the IANA ``zone.tab`` that ships with the system's time-zone data (``/usr/share/zoneinfo``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

ZONE_TAB = Path("/usr/share/zoneinfo/zone.tab")


@cache
def supported_countries() -> tuple[str, ...]:
    """ISO codes the ``holidays`` package knows, sorted."""
    import holidays  # imported lazily: only needed when a country is set

    return tuple(sorted(holidays.list_supported_countries()))


@cache
def _zone_countries() -> dict[str, str]:
    try:
        lines = ZONE_TAB.read_text().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        if line and not line.startswith("#"):
            code, _, zone, *_ = line.split("\t")
            out[zone] = code
    return out


def guess_country(tz: str | None) -> str | None:
    """The country of an IANA time zone ("Europe/Amsterdam" -> "NL"), when holidays knows it."""
    code = _zone_countries().get(str(tz or ""))
    return code if code in supported_countries() else None


def check_country(country: str | None) -> str | None:
    """``country`` upper-cased, or ``ValueError`` naming the choices when ``holidays`` lacks it."""
    if not country:
        return None
    code = str(country).strip().upper()
    if code not in supported_countries():
        raise ValueError(
            f"unknown country {country!r} for public holidays: use an ISO code such as NL, GB, US, DE"
        )
    return code


def holiday_names(index: pd.DatetimeIndex, country: str | None) -> pd.Series:
    """The holiday's name for each timestamp of ``index`` ("" on ordinary days)."""
    out = pd.Series("", index=index, dtype=object)
    if not country or len(index) == 0:
        return out
    import holidays

    years = range(index.min().year, index.max().year + 1)
    days = holidays.country_holidays(check_country(country), years=years)
    names = {pd.Timestamp(d): str(n).split(";")[0].strip() for d, n in days.items()}
    dates = index.tz_localize(None) if index.tz is not None else index
    mapped = pd.Series(dates.normalize(), index=index).map(names)
    return mapped.fillna("").astype(object)


def holiday_mask(index: pd.DatetimeIndex, country: str | None) -> np.ndarray:
    """True on readings that fall on a public holiday of ``country``."""
    return holiday_names(index, country).to_numpy() != ""
