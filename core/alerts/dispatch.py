"""After the worker scored a meter: which messages go out, to whom, and the log of each one.

``process(store, meter, events, newest_ts, now)`` is the one entry point (the worker calls it for
every meter after each scoring pass, also with no events, which is how an open alert is seen to
end). Semantics, borrowed from Prometheus Alertmanager:

* **fingerprint** = owner + meter + event start + type (``rules.fingerprint``): one alert per event.
  ``events`` must hold every event still open at the previous call (the worker rescores from the
  open event's start, so it comes back with the same start); a firing fingerprint missing from the
  open events now has **ended**. The same start with another type (a spike grown into a level
  shift) *supersedes* the old fingerprint: no resolved message, the new type fires once.
* **rules** (``rules.rule_matches``) pick events; each channel of the rules that took an event gets
  one ``firing`` message, **grouped**: events of one meter starting within the rule's ``group_wait``
  share a message. While open, a ``repeat`` goes out after ``repeat_interval``; when it ends, one
  ``resolved`` message goes to each channel that got a message while it was open.
* **look-back**: a rule only takes events open, or ended within its ``lookback`` (24 h) of the newest
  reading: a year of backfilled history sends nothing (``DispatchReport.outside_lookback``).
* an event **like one you dismissed** (``core.labels.suppression``: a label said a similar one was
  no anomaly) does not fire: logged suppressed, with that reason.
* **silences** and the rules' **quiet hours / days** suppress: the log row says ``suppressed`` and by
  which silence or rule. A suppressed firing message is checked again on later runs and goes out if
  the event is still open once the silence or quiet time is over.
* **failures**: ``delivery.deliver`` retries with backoff within the run; after the last try the row
  is ``failed`` with the channel's error, and later runs retry it while the event is open or within
  the look-back.

Guarantee: **at most once per log row, at least once across reported failures.** A row is committed
as ``sending`` (the unique key fingerprint + channel + kind + seq claims it) before Apprise is called;
a process killed mid-send leaves it ``sending``, and later runs mark it ``interrupted`` and never send
it again (that one message may be lost, never doubled). A send the channel reports as failed was not
delivered, so it is retried. Two processes on one database never send one row twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from core.alerts.channels import channel_url
from core.alerts.delivery import AppriseNotifier, Notifier, RetryPolicy, deliver
from core.alerts.message import EventText, compose, plain
from core.alerts.rules import (
    fingerprint,
    groups,
    in_lookback,
    in_quiet_time,
    rule_matches,
    selects,
    silencing,
)
from core.detect.events import energy_unit_of
from core.labels.suppression import MARK, is_like_dismissed
from core.store.alerts import (
    DEFAULT_GROUP_WAIT_S,
    DEFAULT_LOOKBACK_S,
    AlertRule,
    AlertState,
    Channel,
    Notification,
    SqlAlertRepository,
    pending_rows,
    utc,
)
from core.store.db import Store
from core.store.labels import SqlLabelRepository
from core.store.readings import from_us, to_us
from core.store.records import Meter

STALE_SENDING = timedelta(minutes=5)  # a row "sending" this long belongs to a process that died
RETRY_WINDOW = timedelta(days=7)  # failed rows older than this are left alone


@dataclass
class DispatchReport:
    """What one ``process`` call did (``notifications``: the log rows it touched, URLs masked)."""

    meter: str
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    resolved: int = 0
    interrupted: int = 0
    skipped: int = 0
    outside_lookback: int = 0
    planned: int = 0
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


@dataclass
class _Alert:
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
class _Item:
    """A message meant for one channel about one alert: new (row None) or an existing log row."""

    alert: _Alert
    channel: str
    kind: str
    seq: int
    rule: AlertRule | None
    rule_name: str | None
    row: Notification | None = None


def process(
    store: Store,
    meter: Meter,
    events: pd.DataFrame,
    newest_ts: Any,
    now: datetime,
    *,
    send: bool = True,
    energy_unit: str | None = None,
    notifier: Notifier | None = None,
    retry: RetryPolicy | None = None,
) -> DispatchReport:
    """Deliver or log the notifications ``events`` of ``meter`` call for (see the module doc).

    Parameters
    ----------
    events
        Rows of ``core.detect.events.find_events`` (start, end, type, peak_score, excess, cause;
        ``duration_h`` and a bool ``open`` used when present; open = end >= newest_ts otherwise).
    newest_ts
        The newest reading scored, in the meter's zone (as the events' times).
    now
        The wall clock (tz-aware): silences, quiet hours and repeat intervals read it.
    send
        False: plan only; nothing is written or sent (``DispatchReport.planned`` counts).
    """
    now = utc(now)
    repo = SqlAlertRepository(store)
    report = DispatchReport(meter=meter.name)
    unit = energy_unit or (events.attrs.get("energy_unit") if events is not None else None)
    if unit is None and meter.unit:
        unit = energy_unit_of(meter.unit)
    newest_us = to_us(newest_ts, meter.timezone)
    rules = [
        r
        for r in repo.rules(owner=meter.owner, enabled_only=True)
        if selects(r.selector, r.selector_values, meter)
    ]
    alerts = _alerts(meter, events, newest_us)
    states = {s.fingerprint: s for s in repo.states(meter.id, fingerprints=list(alerts))}
    leftovers = pending_rows(repo, meter.name, meter.owner, now - RETRY_WINDOW)
    if not rules and not states and not leftovers:
        report.skipped = len(alerts)
        return report

    for a in alerts.values():
        a.taken_by = [
            r
            for r in rules
            if rule_matches(r, meter, _as_event(a), unit)
            and in_lookback(a.end_us, a.is_open, newest_us, r.lookback_s)
        ]
        if not a.taken_by and a.fp not in states:
            longest = max((r.lookback_s for r in rules), default=DEFAULT_LOOKBACK_S)
            if in_lookback(a.end_us, a.is_open, newest_us, longest):
                report.skipped += 1
            else:
                report.outside_lookback += 1
    tracked = {fp: a for fp, a in alerts.items() if a.taken_by or fp in states}
    ended, superseded = _ended(states, alerts)
    for fp in ended:
        if fp not in tracked:
            tracked[fp] = _from_state(states[fp])
    # failed rows of events the worker no longer passes (ended, or an old window): retried from
    # their stored state while within the look-back
    missing = sorted(
        {r.fingerprint for r in leftovers if r.status == "failed"} - set(tracked) - superseded
    )
    if missing:
        for state in repo.states(meter.id, fingerprints=missing):
            if state.fingerprint in missing:
                tracked[state.fingerprint] = _from_state(state)
                states[state.fingerprint] = state

    log = _by_key(repo.notifications_for(list(tracked)))
    items = _plan(
        tracked,
        ended | {fp for fp, a in tracked.items() if not a.is_open},
        log,
        rules,
        newest_us,
        now,
    )
    if not send:
        report.planned = len(items)
        return report

    if tracked or superseded:
        _save_states(repo, meter, tracked, states, ended, superseded, now)
    _interrupt_stale(repo, leftovers, now, report)
    if not items:
        return report
    silences = repo.silences(owner=meter.owner, active_at=now)
    channels = {c.name: c for c in repo.channels(owner=meter.owner)}
    to_send: list[_Item] = []
    dismissed = _Dismissed(store, meter)
    for item in items:
        reason = _suppression(item, meter, silences, now, dismissed)
        if reason is not None:
            _suppress(repo, item, reason, meter, now, report)
        else:
            to_send.append(item)
    for batch in _batches(to_send):
        _send(repo, meter, unit, batch, channels, notifier or AppriseNotifier(), retry, now, report)
    return report


# ---- what the events are -------------------------------------------------------------------------
def _alerts(meter: Meter, events: pd.DataFrame | None, newest_us: int) -> dict[str, _Alert]:
    out: dict[str, _Alert] = {}
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
        out[fp] = _Alert(
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


def _as_event(a: _Alert) -> dict[str, Any]:
    return {
        "type": a.type,
        "peak_score": a.peak_score,
        "excess": a.excess,
        "duration_h": a.duration_h,
    }


def _from_state(s: AlertState) -> _Alert:
    return _Alert(
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


def _ended(states: dict[str, AlertState], alerts: dict[str, _Alert]) -> tuple[set[str], set[str]]:
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


def _save_states(
    repo: SqlAlertRepository,
    meter: Meter,
    tracked: dict[str, _Alert],
    states: dict[str, AlertState],
    ended: set[str],
    superseded: set[str],
    now: datetime,
) -> None:
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
def _by_key(rows: list[Notification]) -> dict[tuple[str, str, str], list[Notification]]:
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


def _plan(
    tracked: dict[str, _Alert],
    closed: set[str],
    log: dict[tuple[str, str, str], list[Notification]],
    rules: list[AlertRule],
    newest_us: int,
    now: datetime,
) -> list[_Item]:
    by_name = {r.name: r for r in rules}
    items: list[_Item] = []
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

            def item(kind: str, seq: int, row: Notification | None = None) -> _Item:
                return _Item(a, ch, kind, seq, rule, name, row)  # noqa: B023 (used at once)

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


class _Dismissed:
    """The meter's dismissed events (labels not_anomaly / expected), read once and only if asked."""

    def __init__(self, store: Store, meter: Meter) -> None:
        self.store, self.meter, self._frame = store, meter, None

    def like(self, a: _Alert) -> bool:
        if self._frame is None:
            repo = SqlLabelRepository(self.store)
            self._frame = repo.dismissed_events(self.meter.name, owner=self.meter.owner)
        event = {
            "start": from_us(a.start_us, self.meter.timezone),
            "end": from_us(a.end_us, self.meter.timezone),
            "type": a.type,
            "excess": a.excess,
        }
        return is_like_dismissed(event, self._frame)


def _suppression(
    item: _Item, meter: Meter, silences, now: datetime, dismissed: _Dismissed | None = None
) -> str | None:
    if item.kind == "firing" and dismissed is not None and dismissed.like(item.alert):
        return f"{MARK} (a label said a similar event was no anomaly)"
    silence = silencing(silences, meter, item.alert.type, now)
    if silence is not None:
        who = f" by {silence.created_by}" if silence.created_by else ""
        why = f": {silence.comment}" if silence.comment else ""
        return f"silence #{silence.id}{who}{why} (until {silence.ends.isoformat()})"
    rule = item.rule
    if rule is not None and in_quiet_time(rule, now, meter.timezone):
        when = " ".join(x for x in (rule.quiet_hours, ",".join(rule.quiet_days)) if x)
        return f"quiet time of rule {rule.name} ({when})"
    return None


def _new_row(
    item: _Item, meter: Meter, status: str, message_id: str, now: datetime
) -> dict[str, Any]:
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


def _suppress(
    repo: SqlAlertRepository,
    item: _Item,
    reason: str,
    meter: Meter,
    now: datetime,
    report: DispatchReport,
) -> None:
    if item.row is None:
        row = _new_row(item, meter, "suppressed", uuid.uuid4().hex, now)
        row.update(
            reason=reason,
            history=[{"at": now.isoformat(), "status": "suppressed", "reason": reason}],
        )
        if repo.claim(row) is None:
            return
    elif item.row.status == "suppressed":
        return  # already logged as suppressed: one line per message, not one per run
    else:
        repo.note(item.row.id, "suppressed", reason, now)
    report.suppressed += 1
    report.notifications.append(
        {
            "fingerprint": item.alert.fp,
            "channel": item.channel,
            "kind": item.kind,
            "status": "suppressed",
            "reason": reason,
        }
    )


def _interrupt_stale(
    repo: SqlAlertRepository, leftovers: list[Notification], now: datetime, report: DispatchReport
) -> None:
    for row in leftovers:
        if (
            row.status == "sending"
            and row.updated is not None
            and now - row.updated >= STALE_SENDING
        ):
            reason = "the sending process stopped mid-send: maybe delivered, so not sent again"
            if repo.reclaim(
                row.id, ("sending",), {"status": "interrupted", "reason": reason, "updated": now}
            ):
                report.interrupted += 1


def _batches(items: list[_Item]) -> list[list[_Item]]:
    """One message per (channel, kind): alerts starting within the rule's group_wait together."""
    by_route: dict[tuple[str, str], list[_Item]] = {}
    for item in items:
        by_route.setdefault((item.channel, item.kind), []).append(item)
    out: list[list[_Item]] = []
    for route_items in by_route.values():
        wait = min(
            (i.rule.group_wait_s for i in route_items if i.rule is not None),
            default=DEFAULT_GROUP_WAIT_S,
        )
        for group in groups([i.alert.start_us for i in route_items], wait):
            out.append([route_items[i] for i in group])
    return out


def _send(
    repo: SqlAlertRepository,
    meter: Meter,
    unit: str | None,
    batch: list[_Item],
    channels: dict[str, Channel],
    notifier: Notifier,
    retry: RetryPolicy | None,
    now: datetime,
    report: DispatchReport,
) -> None:
    message_id = uuid.uuid4().hex
    claimed: list[tuple[int, _Item]] = []
    for item in batch:  # claim each row before anything is sent (at most once per row)
        if item.row is None:
            row_id = repo.claim(_new_row(item, meter, "sending", message_id, now))
        else:
            ok = repo.reclaim(
                item.row.id,
                ("failed", "suppressed"),
                {"status": "sending", "message_id": message_id, "updated": now},
            )
            row_id = item.row.id if ok else None
        if row_id is not None:
            claimed.append((row_id, item))
    if not claimed:
        return
    kind = claimed[0][1].kind
    texts = [_text(meter, unit, item) for _, item in claimed]
    rule_names = sorted({item.rule_name for _, item in claimed if item.rule_name})
    subject, body = compose(texts, kind, rule=", ".join(rule_names) or None)
    channel = channels.get(claimed[0][1].channel)
    ids = [row_id for row_id, _ in claimed]
    if channel is None:
        outcome_ok, error, tries = False, f"no channel named {claimed[0][1].channel!r} any more", 0
    else:
        try:
            outcome, tries = deliver(
                notifier, channel_url(channel), subject, body, retry or RetryPolicy.from_env()
            )
            outcome_ok, error = outcome.ok, outcome.error
        except Exception as err:  # a broken key or plugin: logged as this channel's failure
            outcome_ok, error, tries = False, f"{type(err).__name__}: {err}", 1
    status = "sent" if outcome_ok else "failed"
    repo.finish(
        ids,
        status,
        reason=error,
        attempts=tries,
        when=now,
        fingerprints=[item.alert.fp for _, item in claimed] if outcome_ok else [],
        open_flags={row_id: item.alert.is_open for row_id, item in claimed},
    )
    for row_id, item in claimed:
        if outcome_ok:
            report.sent += 1
            report.resolved += kind == "resolved"
        else:
            report.failed += 1
        report.notifications.append(
            {
                "id": row_id,
                "fingerprint": item.alert.fp,
                "channel": item.channel,
                "kind": kind,
                "status": status,
                "attempts": tries,
                "reason": error,
                "subject": subject,
            }
        )
    repo.set_subject(ids, subject)


def _text(meter: Meter, unit: str | None, item: _Item) -> EventText:
    a = item.alert
    return EventText(
        meter=meter.name,
        type=a.type,
        start=from_us(a.start_us, meter.timezone),
        end=from_us(a.end_us, meter.timezone),
        is_open=a.is_open,
        peak_score=a.peak_score,
        excess=a.excess,
        energy_unit=unit or meter.unit,
        cause=a.cause,
        tariff=item.rule.tariff if item.rule else None,
    )
