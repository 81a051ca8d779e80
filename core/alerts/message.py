"""The text of a notification: what a person reads in the email or the webhook's JSON.

One message covers one or more events of one meter (grouped by ``core.alerts.rules.groups``). For
each event it says the meter, when (in the meter's zone), the type, the energy above or below expected
(and its cost at the rule's tariff), the plain-language cause that ``core.detect.events`` wrote, and a
link to the meter in the app: ``WATTSUP_APP_URL`` (default ``http://localhost:8501``) +
``/anomaly_detection?meter=NAME``.

==============  =================================================================================
kind            subject
==============  =================================================================================
``firing``      ``[WattsUp] spike on hall-7 from 2024-03-04 14:00`` (or ``3 events on hall-7``)
``repeat``      ``[WattsUp] still open: ...``
``resolved``    ``[WattsUp] resolved: ...``
``test``        ``[WattsUp] test message for channel NAME``
==============  =================================================================================
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pandas as pd

from core.alerts.rules import kwh_factor

APP_URL_VAR = "WATTSUP_APP_URL"
DEFAULT_APP_URL = "http://localhost:8501"
PREFIX = "[WattsUp]"
_KIND_PREFIX = {"firing": "", "repeat": "still open: ", "resolved": "resolved: "}


@dataclass(frozen=True)
class EventText:
    """What a message says about one event (times already in the meter's zone)."""

    meter: str
    type: str
    start: pd.Timestamp
    end: pd.Timestamp
    is_open: bool
    peak_score: float | None
    excess: float | None
    energy_unit: str | None
    cause: str | None
    tariff: float | None = None


def app_base() -> str:
    """``WATTSUP_APP_URL`` without a trailing slash, else the local app."""
    return (os.environ.get(APP_URL_VAR) or DEFAULT_APP_URL).rstrip("/")


def app_link(meter: str) -> str:
    """The link to a meter's events in the app."""
    return f"{app_base()}/anomaly_detection?meter={quote(meter, safe='')}"


def _when(ts: pd.Timestamp) -> str:
    text = ts.strftime("%Y-%m-%d %H:%M")
    return f"{text} {ts.tzname()}" if ts.tzinfo is not None else text


def energy_line(e: EventText) -> str | None:
    """``12.3 kWh above expected (cost 3.08 at 0.25 per kWh)``; None without an excess."""
    if e.excess is None:
        return None
    side = "above" if e.excess >= 0 else "below"
    unit = e.energy_unit or ""
    line = f"{abs(e.excess):,.1f} {unit} {side} expected".replace("  ", " ")
    factor = kwh_factor(e.energy_unit)
    if e.tariff is not None and factor is not None:
        line += f" (cost {abs(e.excess) * factor * e.tariff:,.2f} at {e.tariff:g} per kWh)"
    return line


def _block(e: EventText, kind: str) -> list[str]:
    if kind == "resolved":
        span = f"{_when(e.start)} to {_when(e.end)} (ended)"
    elif e.is_open:
        span = f"since {_when(e.start)} (still open at {_when(e.end)})"
    else:
        span = f"{_when(e.start)} to {_when(e.end)}"
    lines = [f"{e.type.replace('_', ' ')} on {e.meter}", f"  When: {span}"]
    energy = energy_line(e)
    if energy:
        lines.append(f"  Energy: {energy}")
    if e.peak_score is not None:
        lines.append(f"  Peak score: {e.peak_score:.1f}")
    if e.cause:
        lines.append(f"  Cause: {e.cause}")
    return lines


def compose(events: Sequence[EventText], kind: str, *, rule: str | None = None) -> tuple[str, str]:
    """(subject, body) of one message about ``events`` (one meter's)."""
    first = events[0]
    what = (
        f"{first.type.replace('_', ' ')} on {first.meter} from {_when(first.start)}"
        if len(events) == 1
        else f"{len(events)} events on {first.meter}"
    )
    subject = f"{PREFIX} {_KIND_PREFIX.get(kind, '')}{what}"
    body: list[str] = []
    for e in events:
        body += [*_block(e, kind), ""]
    body.append(f"Open in WattsUp: {app_link(first.meter)}")
    if rule:
        body.append(f"Rule: {rule}")
    return subject, "\n".join(body)


def test_message(channel: str) -> tuple[str, str]:
    """(subject, body) of a channel's test message."""
    return (
        f"{PREFIX} test message for channel {channel}",
        f"This is a test of the WattsUp channel {channel!r}. If you read this, alerts will reach "
        f"you here.\n\nOpen WattsUp: {app_base()}",
    )


def plain(value: Any) -> float | None:
    """A finite float, else None."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number or number in (float("inf"), float("-inf")) else number
