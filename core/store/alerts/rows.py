"""Database rows <-> alert records (``records``), and the owner filter every query uses."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import func

from core.store.alerts.records import AlertRule, Notification, Silence, utc


def owner_is(table, owner: str | None):
    return func.coalesce(table.c.owner, "") == (owner or "")


def missing(what: str, name: str, names: list[str]) -> str:
    stored = ", ".join(names[:20]) if names else "none yet"
    return f"no {what} named {name!r} (stored: {stored})."


def aware(row) -> dict[str, Any]:
    return {k: utc(v) if isinstance(v, datetime) else v for k, v in dict(row).items()}


def as_tuple(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (value or ()))


def rule_values(rule: AlertRule) -> dict[str, Any]:
    out = {f.name: getattr(rule, f.name) for f in fields(rule)}
    for key in ("id", "created", "updated"):
        out.pop(key)
    for key in ("channels", "selector_values", "quiet_days"):
        out[key] = list(out[key])
    out["types"] = None if rule.types is None else list(rule.types)
    return out


def rule_of(row) -> AlertRule:
    values = aware(row)
    for key in ("channels", "selector_values", "quiet_days"):
        values[key] = as_tuple(values[key])
    values["types"] = None if values["types"] is None else as_tuple(values["types"])
    values["enabled"] = bool(values["enabled"])
    return AlertRule(**values)


def silence_values(silence: Silence) -> dict[str, Any]:
    out = {f.name: getattr(silence, f.name) for f in fields(silence)}
    out["selector_values"] = list(silence.selector_values)
    out["starts"], out["ends"] = utc(silence.starts), utc(silence.ends)
    out["types"] = None if silence.types is None else list(silence.types)
    return out


def silence_of(row) -> Silence:
    values = aware(row)
    values["selector_values"] = as_tuple(values["selector_values"])
    values["types"] = None if values["types"] is None else as_tuple(values["types"])
    return Silence(**values)


def notification_of(row) -> Notification:
    values = aware(row)
    values["history"] = list(values["history"] or [])
    return Notification(**values)
