"""Public holidays: which country a meter is in (guessed from its time zone), and which readings fall
on a holiday, by name. Holiday events are typed ``holiday`` (``core.detect.events``) and can be counted
as normal (``ThresholdSettings.holidays_normal``).

A country is an ISO code ("NL"), or a code and one of its regions in ISO 3166-2 form ("US-IL",
"DE-BY"), where regional holidays differ. ``country_names()`` / ``regions(code)`` list the choices a
picker offers.

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
    """``country`` upper-cased ("nl" -> "NL", "us-il" -> "US-IL"), or ``ValueError`` naming the
    choices when ``holidays`` lacks the country or its region."""
    if not country:
        return None
    code, _, region = str(country).strip().upper().partition("-")
    if code not in supported_countries():
        raise ValueError(
            f"unknown country {country!r} for public holidays: use an ISO code such as NL, GB, US, DE"
        )
    if region and region not in regions(code):
        raise ValueError(
            f"unknown region {region!r} of {code} for public holidays: use one of "
            f"{', '.join(list(regions(code))[:12])}"
        )
    return f"{code}-{region}" if region else code


@cache
def country_names() -> dict[str, str]:
    """ISO code -> English name ("NL" -> "Netherlands") of every country ``holidays`` knows."""
    import re

    from holidays.registry import COUNTRIES

    names = {}
    for class_name, code, *_ in COUNTRIES.values():
        names[code] = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", class_name)
    return {code: names[code] for code in supported_countries() if code in names}


@cache
def regions(country: str) -> dict[str, str]:
    """Region code -> name ("BY" -> "Bayern") of a country's subdivisions with own holidays."""
    import holidays

    found = holidays.country_holidays(country)
    named = {code: name for name, code in getattr(found, "subdivisions_aliases", {}).items()}
    return {code: named.get(code, code) for code in found.subdivisions}


def holiday_names(index: pd.DatetimeIndex, country: str | None) -> pd.Series:
    """The holiday's name for each timestamp of ``index`` ("" on ordinary days)."""
    out = pd.Series("", index=index, dtype=object)
    if not country or len(index) == 0:
        return out
    import holidays

    years = range(index.min().year, index.max().year + 1)
    code, _, region = check_country(country).partition("-")
    days = holidays.country_holidays(code, subdiv=region or None, years=years)
    names = {pd.Timestamp(d): str(n).split(";")[0].strip() for d, n in days.items()}
    dates = index.tz_localize(None) if index.tz is not None else index
    mapped = pd.Series(dates.normalize(), index=index).map(names)
    return mapped.fillna("").astype(object)


def holiday_mask(index: pd.DatetimeIndex, country: str | None) -> np.ndarray:
    """True on readings that fall on a public holiday of ``country``."""
    return holiday_names(index, country).to_numpy() != ""
