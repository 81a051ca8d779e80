"""Sending: planned messages grouped into batches, each row claimed, then delivered and logged."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from core.alerts.channels import channel_url
from core.alerts.delivery import Notifier, RetryPolicy, deliver
from core.alerts.message import EventText, compose
from core.alerts.planning import Item, new_row
from core.alerts.report import DispatchReport
from core.alerts.rules import groups
from core.store.alerts import DEFAULT_GROUP_WAIT_S, Channel, Notification, SqlAlertRepository
from core.store.readings import from_us
from core.store.records import Meter

STALE_SENDING = timedelta(minutes=5)  # a row "sending" this long belongs to a process that died


def interrupt_stale(
    repo: SqlAlertRepository, leftovers: list[Notification], now: datetime, report: DispatchReport
) -> None:
    """Mark rows left ``sending`` by a process that died as ``interrupted`` (never resent)."""
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


def batches(items: list[Item]) -> list[list[Item]]:
    """One message per (channel, kind): alerts starting within the rule's group_wait together."""
    by_route: dict[tuple[str, str], list[Item]] = {}
    for item in items:
        by_route.setdefault((item.channel, item.kind), []).append(item)
    out: list[list[Item]] = []
    for route_items in by_route.values():
        wait = min(
            (i.rule.group_wait_s for i in route_items if i.rule is not None),
            default=DEFAULT_GROUP_WAIT_S,
        )
        for group in groups([i.alert.start_us for i in route_items], wait):
            out.append([route_items[i] for i in group])
    return out


def send_batch(
    repo: SqlAlertRepository,
    meter: Meter,
    unit: str | None,
    batch: list[Item],
    channels: dict[str, Channel],
    notifier: Notifier,
    retry: RetryPolicy | None,
    now: datetime,
    report: DispatchReport,
) -> None:
    """Claim each row of ``batch``, send them as one message on their channel, log the outcome."""
    message_id = uuid.uuid4().hex
    claimed: list[tuple[int, Item]] = []
    for item in batch:  # claim each row before anything is sent (at most once per row)
        if item.row is None:
            row_id = repo.claim(new_row(item, meter, "sending", message_id, now))
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


def _text(meter: Meter, unit: str | None, item: Item) -> EventText:
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
