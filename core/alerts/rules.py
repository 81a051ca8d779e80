"""Which events alert, when not, and how they group: pure functions, Alertmanager semantics.

=======================  =========================================================================
function                 what it answers
=======================  =========================================================================
``fingerprint``          one event's id: owner + meter + event start (UTC us) + type, hashed
``new_rule``             an :class:`~core.store.alerts.AlertRule` from user input, validated
                         (one-line :class:`DataError` naming the field and what to do)
``selects``              does a selector (all | list | site | type) pick this meter?
``rule_matches``         does a rule take this event (score, types, excess, duration)?
``in_quiet_time``        is ``now`` inside a rule's quiet hours / days (in the meter's zone)?
``silencing``            the first silence that mutes this meter + type at ``now``, if any
``in_lookback``          open, or ended within the rule's look-back of the newest reading
``groups``               events whose starts lie within ``group_wait`` of a group's first: one message
=======================  =========================================================================

Energies: ``min_excess`` and ``tariff`` are per kWh; an event's excess is in its run's energy unit
(``kWh_factor`` converts). An event is compared by the size of its excess (above or below expected).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.detect.events import TYPES
from core.errors import DataError
from core.store.alerts import (
    DEFAULT_GROUP_WAIT_S,
    DEFAULT_LOOKBACK_S,
    DEFAULT_REPEAT_INTERVAL_S,
    AlertRule,
    Silence,
)
from core.store.records import Meter
from core.store.schema import ALERT_SELECTORS

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_KWH = {"wh": 1e-3, "kwh": 1.0, "mwh": 1e3, "gwh": 1e6}
_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_NAME = re.compile(r"^[^\s\x00-\x1f/][^\x00-\x1f/]{0,198}[^\s\x00-\x1f/]$|^[^\s\x00-\x1f/]$")


def fingerprint(owner: str | None, meter: str, start_us: int, kind: str) -> str:
    """An event's id: sha256 of owner, meter name, start (UTC microseconds) and type, 24 hex."""
    text = "\x1f".join((owner or "", meter, str(int(start_us)), kind))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def kwh_factor(unit: str | None) -> float | None:
    """kWh per one of ``unit`` (Wh, kWh, MWh, GWh); None for anything else."""
    return None if unit is None else _KWH.get(unit.strip().lower())


# ---- validation ----------------------------------------------------------------------------------
def check_name(name: str, what: str) -> str:
    """A channel or rule name: 1-200 characters, no '/', no control characters or edge spaces."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise DataError(
            f"{what} name {name!r}: use 1-200 characters without '/', control characters or "
            "spaces at either end."
        )
    return name


def parse_selector(meters: str | Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """``all`` | ``M1,M2`` | ``site:NAME`` | ``type:NAME`` -> (selector, values)."""
    if not isinstance(meters, str):
        values = tuple(str(m).strip() for m in meters if str(m).strip())
        if not values:
            raise DataError("meters: name at least one meter, or 'all'.")
        return ("all", ()) if values == ("all",) else ("list", values)
    text = meters.strip()
    if text in ("", "all", "*"):
        return "all", ()
    for kind in ("site", "type"):
        if text.startswith(f"{kind}:"):
            values = tuple(v.strip() for v in text[len(kind) + 1 :].split(",") if v.strip())
            if not values:
                raise DataError(f"meters {text!r}: name the {kind} after '{kind}:'.")
            return kind, values
    return "list", tuple(v.strip() for v in text.split(",") if v.strip())


def selector_text(selector: str, values: Sequence[str]) -> str:
    """The inverse of :func:`parse_selector`."""
    if selector == "all":
        return "all"
    joined = ",".join(values)
    return joined if selector == "list" else f"{selector}:{joined}"


def check_types(types: Iterable[str] | str | None) -> tuple[str, ...] | None:
    """Event types (None or empty = every type), each one of ``core.detect.events.TYPES``."""
    if types is None:
        return None
    if isinstance(types, str):
        types = [t for t in types.split(",")]
    out = tuple(t.strip() for t in types if t and t.strip())
    bad = [t for t in out if t not in TYPES]
    if bad:
        raise DataError(f"types: {', '.join(bad)} unknown; use some of {', '.join(TYPES)}.")
    return out or None


def check_quiet(
    hours: str | None, days: Iterable[str] | str | None
) -> tuple[str | None, tuple[str, ...]]:
    """``22:00-06:00`` (may wrap midnight) and days like ``sat,sun``."""
    if hours is not None and str(hours).strip():
        hours = str(hours).strip()
        if not _QUIET.match(hours):
            raise DataError(f"quiet hours {hours!r}: write them as HH:MM-HH:MM, e.g. 22:00-06:00.")
    else:
        hours = None
    if isinstance(days, str):
        days = days.split(",")
    out = tuple(d.strip().lower()[:3] for d in (days or ()) if d and d.strip())
    bad = [d for d in out if d not in DAYS]
    if bad:
        raise DataError(f"quiet days: {', '.join(bad)} unknown; use some of {', '.join(DAYS)}.")
    return hours, out


def _number(value: Any, what: str, *, minimum: float = 0.0) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number >= minimum or number == float("inf"):
        raise DataError(f"{what} takes a number >= {minimum:g}, got {value!r}.")
    return number


def _seconds(value: Any, what: str, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        seconds = parse_duration(str(value), what).total_seconds()
    if not 0 <= seconds <= 366 * 86400:
        raise DataError(f"{what} takes 0 s to 366 days, got {value!r}.")
    return int(seconds)


def parse_duration(text: str, what: str = "duration") -> timedelta:
    """``30s``, ``15m``, ``4h``, ``2d`` (or a number of seconds) -> timedelta."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text or "")
    if not match:
        raise DataError(f"{what} {text!r}: write e.g. 30s, 15m, 4h or 2d.")
    scale = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return timedelta(seconds=float(match.group(1)) * scale)


def new_rule(
    name: str,
    *,
    channels: Sequence[str] | str,
    meters: str | Sequence[str] = "all",
    min_score: Any = None,
    types: Iterable[str] | str | None = None,
    min_excess: Any = None,
    tariff: Any = None,
    min_duration_h: Any = None,
    quiet_hours: str | None = None,
    quiet_days: Iterable[str] | str | None = None,
    enabled: bool = True,
    group_wait: Any = None,
    repeat_interval: Any = None,
    lookback: Any = None,
    owner: str | None = None,
) -> AlertRule:
    """A validated rule from what a person typed (durations as ``4h`` or seconds)."""
    if isinstance(channels, str):
        channels = [c for c in channels.split(",")]
    chans = tuple(dict.fromkeys(c.strip() for c in channels if c and c.strip()))
    if not chans:
        raise DataError(f"rule {name!r}: name at least one channel (--channels NAME).")
    selector, values = parse_selector(meters)
    hours, days = check_quiet(quiet_hours, quiet_days)
    return AlertRule(
        name=check_name(name, "rule"),
        channels=chans,
        selector=selector,
        selector_values=values,
        min_score=_number(min_score, "min score"),
        types=check_types(types),
        min_excess=_number(min_excess, "min excess (kWh)"),
        tariff=_number(tariff, "tariff (per kWh)"),
        min_duration_h=_number(min_duration_h, "min duration (hours)"),
        quiet_hours=hours,
        quiet_days=days,
        enabled=bool(enabled),
        group_wait_s=_seconds(group_wait, "group wait", DEFAULT_GROUP_WAIT_S),
        repeat_interval_s=_seconds(repeat_interval, "repeat interval", DEFAULT_REPEAT_INTERVAL_S),
        lookback_s=_seconds(lookback, "look-back", DEFAULT_LOOKBACK_S),
        owner=owner,
    )


def edited(rule: AlertRule, **changes: Any) -> AlertRule:
    """``rule`` with some fields changed, validated again."""
    base = {
        "channels": rule.channels,
        "meters": selector_text(rule.selector, rule.selector_values),
        "min_score": rule.min_score,
        "types": rule.types,
        "min_excess": rule.min_excess,
        "tariff": rule.tariff,
        "min_duration_h": rule.min_duration_h,
        "quiet_hours": rule.quiet_hours,
        "quiet_days": rule.quiet_days,
        "enabled": rule.enabled,
        "group_wait": rule.group_wait_s,
        "repeat_interval": rule.repeat_interval_s,
        "lookback": rule.lookback_s,
        "owner": rule.owner,
    }
    base.update(changes)
    return replace(new_rule(rule.name, **base), id=rule.id, created=rule.created)


# ---- matching ------------------------------------------------------------------------------------
def selects(selector: str, values: Sequence[str], meter: Meter) -> bool:
    """Whether a rule's or silence's selector picks ``meter``."""
    if selector not in ALERT_SELECTORS:
        return False
    if selector == "all":
        return True
    if selector == "list":
        return meter.name in values
    if selector == "site":
        return meter.site is not None and meter.site in values
    return meter.building_type is not None and meter.building_type in values


def rule_matches(
    rule: AlertRule, meter: Meter, event: dict[str, Any], energy_unit: str | None
) -> bool:
    """Whether ``rule`` takes ``event`` (a dict with type, peak_score, excess, duration_h) of ``meter``."""
    if not rule.enabled or not selects(rule.selector, rule.selector_values, meter):
        return False
    if rule.types is not None and event["type"] not in rule.types:
        return False
    score = event.get("peak_score")
    if rule.min_score is not None and not (score is not None and score >= rule.min_score):
        return False
    if rule.min_excess is not None:
        excess = event.get("excess")
        factor = kwh_factor(energy_unit) or 1.0  # unknown units: compared as they are
        if excess is None or abs(excess) * factor < rule.min_excess:
            return False
    if rule.min_duration_h is not None:
        duration = event.get("duration_h")
        if duration is None or duration < rule.min_duration_h:
            return False
    return True


def in_quiet_time(rule: AlertRule, now: datetime, timezone: str | None) -> bool:
    """Whether ``now`` lies in the rule's quiet days or hours, read in the meter's zone (else UTC)."""
    if not rule.quiet_hours and not rule.quiet_days:
        return False
    local = now.astimezone(ZoneInfo(timezone or "UTC"))
    if DAYS[local.weekday()] in rule.quiet_days:
        return True
    if not rule.quiet_hours:
        return False
    a, b = rule.quiet_hours.split("-")
    start, end = time.fromisoformat(a), time.fromisoformat(b)
    clock = local.time().replace(tzinfo=None)
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end  # wraps midnight


def silencing(
    silences: Sequence[Silence], meter: Meter, kind: str, now: datetime
) -> Silence | None:
    """The first silence muting ``meter``'s events of type ``kind`` at ``now``."""
    for silence in silences:
        if not silence.starts <= now < silence.ends:
            continue
        if silence.types is not None and kind not in silence.types:
            continue
        if selects(silence.selector, silence.selector_values, meter):
            return silence
    return None


def in_lookback(end_us: int, is_open: bool, newest_us: int, lookback_s: int) -> bool:
    """Open, or ended within ``lookback_s`` of the newest reading."""
    return is_open or end_us >= newest_us - int(lookback_s) * 1_000_000


def groups(starts_us: Sequence[int], group_wait_s: int) -> list[list[int]]:
    """Indices of ``starts_us`` grouped: each group holds the events starting within
    ``group_wait_s`` of its first one (in time order)."""
    order = sorted(range(len(starts_us)), key=lambda i: starts_us[i])
    out: list[list[int]] = []
    first = None
    for i in order:
        if out and first is not None and starts_us[i] - first <= group_wait_s * 1_000_000:
            out[-1].append(i)
        else:
            out.append([i])
            first = starts_us[i]
    return out


def parse_until(text: str | datetime, now: datetime) -> datetime:
    """A silence's end: an ISO time (naive = UTC) or a duration from now (``2h``, ``3d``)."""
    if isinstance(text, datetime):
        when = text
    else:
        raw = str(text).strip()
        if re.fullmatch(r"\d+(?:\.\d+)?\s*[smhd]", raw):
            return now + parse_duration(raw, "until")
        try:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise DataError(
                f"until {raw!r}: give an ISO time (2026-01-31T18:00Z) or a duration (2h, 3d)."
            ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def new_silence(
    meters: str | Sequence[str],
    *,
    until: str | datetime,
    now: datetime,
    starts: str | datetime | None = None,
    types: Iterable[str] | str | None = None,
    created_by: str | None = None,
    comment: str | None = None,
    owner: str | None = None,
) -> Silence:
    """A validated silence (not yet stored: ``id`` 0) from ``now`` (or ``starts``) to ``until``."""
    selector, values = parse_selector(meters)
    begin = now if starts is None else parse_until(starts, now)
    end = parse_until(until, now)
    if not end > begin:
        raise DataError(
            f"silence: until ({end.isoformat()}) must be after its start ({begin.isoformat()})."
        )
    return Silence(
        id=0,
        owner=owner,
        selector=selector,
        selector_values=values,
        types=check_types(types),
        starts=begin,
        ends=end,
        created_by=(created_by or None),
        comment=(comment or None),
    )
