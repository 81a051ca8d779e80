"""Planning a dispatch: alerts from events or stored state, their state rows, the messages due."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from core.alerts.message import plain
from core.alerts.rules import fingerprint, in_lookback
from core.store.alerts import (
    DEFAULT_LOOKBACK_S,
    AlertRule,
    AlertState,
    Notification,
    SqlAlertRepository,
)
from core.store.readings import to_us
from core.store.records import Meter


@dataclass
class Alert:
    """One fingerprint this call may message about."""

    fp: str
    start_us: int
    end_us: int
    type: str
    peak_score: float | None
    excess: float | None
    cause: str | None
    duration_h: float | None
    is_open: bool
    taken_by: list[AlertRule] = field(default_factory=list)


@dataclass
class Item:
    """A message meant for one channel about one alert: new (row None) or an existing log row."""

    alert: Alert
    channel: str
    kind: str
    seq: int
    rule: AlertRule | None
    rule_name: str | None
    row: Notification | None = None


# ---- what the events are -------------------------------------------------------------------------
def alerts_from_events(
    meter: Meter, events: pd.DataFrame | None, newest_us: int
) -> dict[str, Alert]:
    """The alerts of ``events`` by fingerprint (open: the ``open`` column, else end >= newest)."""
    out: dict[str, Alert] = {}
    if events is None or len(events) == 0:
        return out
    wanted = [
        c
        for c in ("start", "end", "type", "peak_score", "excess", "cause", "duration_h", "open")
        if c in events
    ]
    columns = {c: events[c].tolist() for c in wanted}  # plain lists: to_dict costs ms per meter
    for i in range(len(events)):
        row = {c: values[i] for c, values in columns.items()}
        start_us = to_us(row["start"], meter.timezone)
        end_us = to_us(row["end"], meter.timezone)
        is_open = (
            bool(row["open"]) if "open" in row and pd.notna(row["open"]) else end_us >= newest_us
        )
        duration = plain(row.get("duration_h"))
        if duration is None:
            duration = (end_us - start_us) / 3.6e9
        kind = str(row["type"])
        fp = fingerprint(meter.owner, meter.name, start_us, kind)
        out[fp] = Alert(
            fp,
            start_us,
            end_us,
            kind,
            plain(row.get("peak_score")),
            plain(row.get("excess")),
            None if row.get("cause") is None or pd.isna(row.get("cause")) else str(row["cause"]),
            duration,
            is_open,
        )
    return out


def as_event(a: Alert) -> dict[str, Any]:
    """The event fields ``rules.rule_matches`` reads."""
    return {
        "type": a.type,
        "peak_score": a.peak_score,
        "excess": a.excess,
        "duration_h": a.duration_h,
    }


def from_state(s: AlertState) -> Alert:
    """An ended alert rebuilt from its stored state (the worker no longer passes its event)."""
    return Alert(
        s.fingerprint,
        s.start_ts,
        s.end_ts,
        s.type,
        s.peak_score,
        s.excess,
        s.cause,
        (s.end_ts - s.start_ts) / 3.6e9,
        False,
    )


def ended_states(
    states: dict[str, AlertState], alerts: dict[str, Alert]
) -> tuple[set[str], set[str]]:
    """(open states that ended now, open states superseded by another type at the same start)."""
    open_now = {fp for fp, a in alerts.items() if a.is_open}
    starts = {a.start_us for a in alerts.values()}
    ended, superseded = set(), set()
    for fp, s in states.items():
        if s.status != "open" or fp in open_now:
            continue
        if fp not in alerts and s.start_ts in starts:
            superseded.add(fp)
        else:
            ended.add(fp)
    return ended, superseded


def save_states(
    repo: SqlAlertRepository,
    meter: Meter,
    tracked: dict[str, Alert],
    states: dict[str, AlertState],
    ended: set[str],
    superseded: set[str],
    now: datetime,
) -> None:
    """Save the state of each tracked alert (open / resolved) and mark superseded ones."""
    with repo.store.writing() as conn:
        for fp, a in tracked.items():
            old = states.get(fp)
            status = "open" if a.is_open else "resolved"
            repo.save_state(
                conn,
                {
                    "owner": meter.owner,
                    "fingerprint": fp,
                    "meter_id": meter.id,
                    "start_ts": a.start_us,
                    "end_ts": a.end_us,
                    "type": a.type,
                    "status": status,
                    "peak_score": a.peak_score,
                    "excess": a.excess,
                    "cause": a.cause,
                    "first_seen": now,
                    "ended": None if a.is_open else (old.ended if old and old.ended else now),
                },
            )
        for fp in superseded:
            old = states[fp]
            repo.save_state(
                conn,
                {"fingerprint": fp, "status": "superseded", "ended": now, "meter_id": old.meter_id},
            )


# ---- what to send --------------------------------------------------------------------------------
def by_key(rows: list[Notification]) -> dict[tuple[str, str, str], list[Notification]]:
    """Log rows by (fingerprint, channel, kind), each list in ``seq`` order."""
    out: dict[tuple[str, str, str], list[Notification]] = {}
    for row in rows:
        out.setdefault((row.fingerprint or "", row.channel, row.kind), []).append(row)
    for rows_ in out.values():
        rows_.sort(key=lambda r: r.seq)
    return out


def _sent_while_open(rows: list[Notification]) -> bool:
    return any(
        r.status == "sent" and any(h.get("status") == "sent" and h.get("open") for h in r.history)
        for r in rows
    )


def _last_sent(rows: list[Notification]) -> datetime | None:
    times = [r.sent for r in rows if r.status == "sent" and r.sent is not None]
    return max(times) if times else None


def plan(
    tracked: dict[str, Alert],
    closed: set[str],
    log: dict[tuple[str, str, str], list[Notification]],
    rules: list[AlertRule],
    newest_us: int,
    now: datetime,
) -> list[Item]:
    """The messages due now: firing, repeat or resolved per alert and channel, new or retried."""
    by_name = {r.name: r for r in rules}
    items: list[Item] = []
    for fp, a in tracked.items():
        # the channels: of the rules that take it now, and of any message already logged about it
        routes: dict[str, AlertRule | None] = {}
        for r in a.taken_by:
            for ch in r.channels:
                routes.setdefault(ch, r)
        for (key_fp, ch, _kind), rows in log.items():
            if key_fp == fp and ch not in routes:
                routes[ch] = by_name.get(rows[0].rule or "")
        for ch, rule in routes.items():
            lookback = rule.lookback_s if rule else DEFAULT_LOOKBACK_S
            recent = in_lookback(a.end_us, a.is_open, newest_us, lookback)
            name = rule.name if rule else _logged_rule(log, fp, ch)
            firing = log.get((fp, ch, "firing"), [])
            repeats = log.get((fp, ch, "repeat"), [])
            resolved = log.get((fp, ch, "resolved"), [])

            def item(kind: str, seq: int, row: Notification | None = None) -> Item:
                return Item(a, ch, kind, seq, rule, name, row)  # noqa: B023 (used at once)

            if fp in closed and not a.is_open:
                if resolved:
                    row = resolved[0]
                    if row.status == "failed" and recent:
                        items.append(item("resolved", 0, row))
                elif _sent_while_open(firing + repeats):
                    items.append(item("resolved", 0))
                elif firing and firing[0].status == "failed" and recent and a.taken_by:
                    items.append(item("firing", 0, firing[0]))  # never delivered: say it, ended
                elif not firing and a.taken_by and recent:
                    items.append(item("firing", 0))  # a short event that began and ended unseen
                continue
            if not a.taken_by and not firing:
                continue
            if not firing:
                items.append(item("firing", 0))
                continue
            row = firing[0]
            if row.status == "failed" and recent:
                items.append(item("firing", 0, row))
                continue
            if row.status == "suppressed" and a.is_open:
                items.append(item("firing", 0, row))
                continue
            if row.status != "sent" or not a.is_open or rule is None:
                continue
            if repeats and repeats[-1].status in ("failed", "suppressed"):
                items.append(item("repeat", repeats[-1].seq, repeats[-1]))
                continue
            last = _last_sent(firing + repeats)
            if last is not None and now - last >= timedelta(seconds=rule.repeat_interval_s):
                items.append(item("repeat", (repeats[-1].seq if repeats else 0) + 1))
    return items


def _logged_rule(
    log: dict[tuple[str, str, str], list[Notification]], fp: str, ch: str
) -> str | None:
    for kind in ("firing", "repeat", "resolved"):
        rows = log.get((fp, ch, kind))
        if rows and rows[0].rule:
            return rows[0].rule
    return None


def new_row(
    item: Item, meter: Meter, status: str, message_id: str, now: datetime
) -> dict[str, Any]:
    """A new log row for ``item`` (``repo.claim`` takes it)."""
    return {
        "owner": meter.owner,
        "fingerprint": item.alert.fp,
        "meter": meter.name,
        "rule": item.rule_name,
        "channel": item.channel,
        "kind": item.kind,
        "seq": item.seq,
        "status": status,
        "attempts": 0,
        "message_id": message_id,
        "history": [],
        "created": now,
        "updated": now,
    }
