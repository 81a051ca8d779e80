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

from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from core.alerts.delivery import AppriseNotifier, Notifier, RetryPolicy
from core.alerts.planning import (
    Item,
    alerts_from_events,
    as_event,
    by_key,
    ended_states,
    from_state,
    plan,
    save_states,
)
from core.alerts.report import DispatchReport
from core.alerts.rules import in_lookback, rule_matches, selects
from core.alerts.sending import batches, interrupt_stale, send_batch
from core.alerts.suppression import Dismissed, suppress, suppression
from core.detect.events import energy_unit_of
from core.store.alerts import DEFAULT_LOOKBACK_S, SqlAlertRepository, pending_rows, utc
from core.store.db import Store
from core.store.readings import to_us
from core.store.records import Meter

__all__ = ["DispatchReport", "process"]

RETRY_WINDOW = timedelta(days=7)  # failed rows older than this are left alone


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
    alerts = alerts_from_events(meter, events, newest_us)
    states = {s.fingerprint: s for s in repo.states(meter.id, fingerprints=list(alerts))}
    leftovers = pending_rows(repo, meter.name, meter.owner, now - RETRY_WINDOW)
    if not rules and not states and not leftovers:
        report.skipped = len(alerts)
        return report

    for a in alerts.values():
        a.taken_by = [
            r
            for r in rules
            if rule_matches(r, meter, as_event(a), unit)
            and in_lookback(a.end_us, a.is_open, newest_us, r.lookback_s)
        ]
        if not a.taken_by and a.fp not in states:
            longest = max((r.lookback_s for r in rules), default=DEFAULT_LOOKBACK_S)
            if in_lookback(a.end_us, a.is_open, newest_us, longest):
                report.skipped += 1
            else:
                report.outside_lookback += 1
    tracked = {fp: a for fp, a in alerts.items() if a.taken_by or fp in states}
    ended, superseded = ended_states(states, alerts)
    for fp in ended:
        if fp not in tracked:
            tracked[fp] = from_state(states[fp])
    # failed rows of events the worker no longer passes (ended, or an old window): retried from
    # their stored state while within the look-back
    missing = sorted(
        {r.fingerprint for r in leftovers if r.status == "failed"} - set(tracked) - superseded
    )
    if missing:
        for state in repo.states(meter.id, fingerprints=missing):
            if state.fingerprint in missing:
                tracked[state.fingerprint] = from_state(state)
                states[state.fingerprint] = state

    log = by_key(repo.notifications_for(list(tracked)))
    items = plan(
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
        save_states(repo, meter, tracked, states, ended, superseded, now)
    interrupt_stale(repo, leftovers, now, report)
    if not items:
        return report
    silences = repo.silences(owner=meter.owner, active_at=now)
    channels = {c.name: c for c in repo.channels(owner=meter.owner)}
    to_send: list[Item] = []
    dismissed = Dismissed(store, meter)
    for item in items:
        reason = suppression(item, meter, silences, now, dismissed)
        if reason is not None:
            suppress(repo, item, reason, meter, now, report)
        else:
            to_send.append(item)
    for batch in batches(to_send):
        send_batch(
            repo, meter, unit, batch, channels, notifier or AppriseNotifier(), retry, now, report
        )
    return report
