"""Sub-meters as context: which part of the meter explains an event, in one clause of its cause.

A multivariate file may carry sub-meters beside the main meter (``core.ingest.columns.is_submeter``:
the UCI household file's ``sub_metering_1`` kitchen, ``_2`` laundry, ``_3`` water heater and air
conditioner). No detector reads them. For each event, each sub-meter's readings over the event's span
are compared with that sub-meter's own usual level at the same times: its robust time-of-week profile
(``core.detect.profile.fit_profile``, the median per weekday x time of day, as for the main value).
The sub-meter whose summed deviation goes furthest the same way as the event's ``excess`` is named
when it explains at least ``MIN_SHARE`` of it::

    sub_metering_3 +1.8 kWh above its usual level (62 % of the excess)

The share is the sub-meter's deviation over the event's ``excess`` (``actual - expected`` of the main
meter); it can pass 100 % when other loads were below their usual level at the time.

Units. Shares are taken in one unit, the events' energy unit (``events.attrs["energy_unit"]``: kWh
for a kW or kWh meter), so each sub-meter reading is converted into energy per reading:

* a unit token in the sub-meter's name wins (``submeter_hvac_kwh``: kWh per reading;
  ``sub_meter_2_w``: W, times the step in hours);
* a bare UCI name (``sub_metering_<n>``) is read as the UCI data set documents it: watt-hours of
  active energy per minute (the hourly file holds hourly means of them), i.e. a mean power of
  60 W per unit: times the step in hours, over 1000 for kWh;
* any other sub-meter is taken to read in the main meter's unit (kW summed like the meter: times the
  step for power units, as is for energy units).

Retrospective runs learn the profiles on the scored frame itself; after a warm-up they come from
the warm-up (``core.detect.run.Reference.submeters``), so no later reading changes an earlier cause.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.detect.events import POWER_UNITS, energy_unit_of
from core.detect.profile import WeekProfile, fit_profile
from core.ingest.columns import submeter_columns, unit_in_name

# Below a third of the excess a sub-meter is one contributor among several (the unmetered rest of
# the building included), not the explanation: 30 % keeps the clause for a load that dominates.
MIN_SHARE = 0.3
SEPARATOR = "; "  # between the event's own cause and the sub-meter clause

_WH = {"Wh": 1.0, "kWh": 1e3, "MWh": 1e6, "GWh": 1e9}  # energy units in Wh
_W = {"W": 1.0, "kW": 1e3, "MW": 1e6}  # power units in W
_UCI_NAME = re.compile(r"^sub_metering_\d+$")
_UCI_WATTS = 60.0  # one Wh per minute is a mean power of 60 W


def submeter_profiles(frame: pd.DataFrame) -> dict[str, WeekProfile]:
    """The week profile of each sub-meter column of ``frame`` (none: an empty dict): the usual
    reading per time of week only (no yearly pattern), so "its usual level" is what a person
    finds from the sub-meter's own weekday x time-of-day medians."""
    return {c: fit_profile(frame[c], yearly=False) for c in submeter_columns(frame.columns)}


def reading_factor(name: str, unit: str, step_h: float) -> float:
    """What one reading of sub-meter ``name`` is in the energy unit of a ``unit`` meter's events.

    Parameters
    ----------
    name
        the sub-meter's column name in the frame (its unit token, if any, is read off it).
    unit
        the main meter's unit (``Dataset.unit``).
    step_h
        the step in hours.
    """
    target = _WH.get(energy_unit_of(unit))
    own = unit_in_name(name)
    if target is not None:
        if own in _WH:
            return _WH[own] / target
        if own in _W:
            return _W[own] * step_h / target
        if own is None and _UCI_NAME.match(name):
            return _UCI_WATTS * step_h / target
    return step_h if (unit or "").strip().lower() in POWER_UNITS else 1.0


def submeter_deviations(
    scored: pd.DataFrame,
    events: pd.DataFrame,
    *,
    freq: pd.Timedelta | str,
    unit: str,
    profiles: Mapping[str, WeekProfile] | None = None,
) -> pd.DataFrame:
    """Energy each sub-meter used above (+) or below (-) its usual level over each event's span.

    One row per event (``events``' index), one column per sub-meter that has a profile, in the events'
    energy unit (see the module docstring); NaN where a sub-meter has no reading in the span.

    Parameters
    ----------
    scored
        the scored frame the events were found in, with the sub-meter columns.
    events
        ``core.detect.events.find_events`` rows (``start`` and ``end`` are used).
    profiles
        sub-meter -> week profile; default: learned on ``scored`` (a retrospective view).
    """
    if profiles is None:
        profiles = submeter_profiles(scored)
    names = [c for c in submeter_columns(scored.columns) if c in profiles]
    out = pd.DataFrame(index=events.index, columns=names, dtype=float)
    if not names or events.empty:
        return out
    step_h = pd.Timedelta(freq) / pd.Timedelta(hours=1)
    index = scored.index
    first = index.get_indexer(pd.DatetimeIndex(events["start"]))
    last = index.get_indexer(pd.DatetimeIndex(events["end"]))
    inside = (first >= 0) & (last >= first)
    for name in names:
        dev = scored[name].to_numpy(dtype=float) - profiles[name].expected(index)
        dev *= reading_factor(name, unit, step_h)
        sums = np.r_[0.0, np.cumsum(np.nan_to_num(dev, nan=0.0))]
        counts = np.r_[0, np.cumsum(np.isfinite(dev))]
        a, b = np.where(inside, first, 0), np.where(inside, last + 1, 0)
        total = sums[b] - sums[a]
        out[name] = np.where(inside & (counts[b] > counts[a]), total, np.nan)
    return out


def submeter_clauses(
    scored: pd.DataFrame,
    events: pd.DataFrame,
    *,
    freq: pd.Timedelta | str,
    unit: str,
    profiles: Mapping[str, WeekProfile] | None = None,
) -> pd.Series:
    """Per event, the clause naming the sub-meter that explains it ("" when none explains
    ``MIN_SHARE`` of its excess, or the frame has no sub-meters)."""
    devs = submeter_deviations(scored, events, freq=freq, unit=unit, profiles=profiles)
    energy = energy_unit_of(unit)
    clauses = pd.Series("", index=events.index, dtype=object)
    if devs.columns.empty:
        return clauses
    for key, excess in events["excess"].items():
        row = devs.loc[key].dropna()
        if row.empty or not np.isfinite(excess) or excess == 0:
            continue
        shares = row / excess
        name = str(shares.idxmax())
        if shares[name] >= MIN_SHARE:
            clauses[key] = _clause(name, float(row[name]), float(shares[name]), excess, energy)
    return clauses


def with_submeter_causes(
    events: pd.DataFrame,
    scored: pd.DataFrame,
    *,
    freq: pd.Timedelta | str,
    unit: str,
    profiles: Mapping[str, WeekProfile] | None = None,
) -> pd.DataFrame:
    """``events`` with the sub-meter clause appended to each ``cause`` it applies to (after
    ``SEPARATOR``); the same frame when ``scored`` has no sub-meter columns. No column is added, so
    stored runs and alerts keep their schema."""
    if events.empty or not submeter_columns(scored.columns):
        return events
    clauses = submeter_clauses(scored, events, freq=freq, unit=unit, profiles=profiles)
    if not (clauses != "").any():
        return events
    out = events.copy()
    named = clauses != ""
    out.loc[named, "cause"] = out.loc[named, "cause"].astype(str) + SEPARATOR + clauses[named]
    return out


def _clause(name: str, deviation: float, share: float, excess: float, energy_unit: str) -> str:
    side = "above" if deviation > 0 else "below"
    what = "excess" if excess > 0 else "shortfall"
    amount = abs(deviation)
    number = f"{amount:,.1f}" if amount < 100 else f"{amount:,.0f}"
    sign = "+" if deviation > 0 else "-"
    share_text = f"{100 * share:.0f} % of the {what}"
    return f"{name} {sign}{number} {energy_unit} {side} its usual level ({share_text})"
