"""Whether each event of a meter alerted: for the Anomaly detection page's events table.

``event_alerts(store, meter, owner)`` reads the meter's alert states and their log rows and answers one
row per alerted fingerprint: ``start`` (in the meter's zone), ``type``, ``alert`` (one line: ``sent to
ops-mail, ops-hook``, ``suppressed: silence #3 ...``, ``failed: <error>``, ``resolved``), and
``with_alerts(events, alerts)`` adds that line to an events frame as the column ``alert`` (empty where
the event never reached a rule), matching on start and type.
"""

from __future__ import annotations

import pandas as pd

from core.store.alerts import SqlAlertRepository
from core.store.db import Store
from core.store.meters import SqlMeterRepository
from core.store.readings import from_us

COLUMNS = ("start", "type", "alert")


def event_alerts(store: Store, meter: str, *, owner: str | None = None) -> pd.DataFrame:
    """One row per alerted event of ``meter``: start, type, and what happened, in one line."""
    repo = SqlAlertRepository(store)
    meter_id = repo.meter_id(meter, owner)
    if meter_id is None:
        return pd.DataFrame(columns=list(COLUMNS))
    timezone = SqlMeterRepository(store).get(meter, owner=owner).timezone
    states = repo.states(meter_id, open_only=False)
    rows = repo.notifications_for([s.fingerprint for s in states])
    by_fp: dict[str, list] = {}
    for row in rows:
        by_fp.setdefault(row.fingerprint, []).append(row)
    out = []
    for s in states:
        logged = by_fp.get(s.fingerprint, [])
        if logged:
            out.append(
                {
                    "start": from_us(s.start_ts, timezone),
                    "type": s.type,
                    "alert": _line(logged),
                }
            )
    return pd.DataFrame(out, columns=list(COLUMNS))


def _line(rows) -> str:
    sent = sorted({r.channel for r in rows if r.status == "sent" and r.kind != "resolved"})
    resolved = any(r.status == "sent" and r.kind == "resolved" for r in rows)
    if sent:
        return f"sent to {', '.join(sent)}" + (", resolved" if resolved else "")
    last = rows[-1]
    return f"{last.status}: {last.reason}" if last.reason else last.status


def with_alerts(events: pd.DataFrame, alerts: pd.DataFrame) -> pd.DataFrame:
    """``events`` with an ``alert`` column (empty text where nothing alerted)."""
    out = events.copy()
    if len(alerts) == 0 or len(out) == 0:
        out["alert"] = ""
        return out
    lookup = {(pd.Timestamp(r.start), r.type): r.alert for r in alerts.itertuples()}
    out["alert"] = [
        lookup.get((pd.Timestamp(start), kind), "")
        for start, kind in zip(out["start"], out["type"], strict=True)
    ]
    return out
