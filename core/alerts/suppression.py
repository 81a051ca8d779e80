"""Suppression: why a planned message is held back (dismissed look-alike, silence, quiet time)."""

from __future__ import annotations

import uuid
from datetime import datetime

from core.alerts.planning import Alert, Item, new_row
from core.alerts.report import DispatchReport
from core.alerts.rules import in_quiet_time, silencing
from core.labels.suppression import MARK, is_like_dismissed
from core.store.alerts import SqlAlertRepository
from core.store.db import Store
from core.store.labels import SqlLabelRepository
from core.store.readings import from_us
from core.store.records import Meter


class Dismissed:
    """The meter's dismissed events (labels not_anomaly / expected), read once and only if asked."""

    def __init__(self, store: Store, meter: Meter) -> None:
        self.store, self.meter, self._frame = store, meter, None

    def like(self, a: Alert) -> bool:
        """Whether ``a`` is like an event a label dismissed."""
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


def suppression(
    item: Item, meter: Meter, silences, now: datetime, dismissed: Dismissed | None = None
) -> str | None:
    """Why ``item`` is held back now (a dismissed look-alike, a silence, quiet time), or None."""
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


def suppress(
    repo: SqlAlertRepository,
    item: Item,
    reason: str,
    meter: Meter,
    now: datetime,
    report: DispatchReport,
) -> None:
    """Log ``item`` as suppressed with ``reason`` (once: a row already suppressed is left as is)."""
    if item.row is None:
        row = new_row(item, meter, "suppressed", uuid.uuid4().hex, now)
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
