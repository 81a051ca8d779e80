"""End to end through real channels: core.alerts.dispatch.process against an aiosmtpd SMTP server and
an HTTP webhook receiver on loopback (Apprise's mailto:// and json://)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from core.alerts.channels import add_channel
from core.alerts.dispatch import process
from core.alerts.rules import new_rule, new_silence
from core.alerts.status import event_alerts, with_alerts
from core.store.alerts import SqlAlertRepository
from core.store.labels import SqlLabelRepository
from tests.alerts.conftest import NOW, events, spike

NEWEST = pd.Timestamp("2023-01-15 23:00")
CAUSE = "Reading 4.1x the usual Sunday evening level."


def _setup(store, smtp=None, webhook=None, **rule) -> SqlAlertRepository:
    names = []
    if smtp is not None:
        add_channel(store, "ops-mail", smtp.url)
        names.append("ops-mail")
    if webhook is not None:
        add_channel(store, "ops-hook", webhook.url())
        names.append("ops-hook")
    repo = SqlAlertRepository(store)
    repo.save_rule(new_rule("all-spikes", channels=names, **rule))
    return repo


def _open_spike(**kw) -> pd.DataFrame:
    return events(spike("2023-01-15 22:00", "2023-01-15 23:00", **kw))


def test_new_event_sends_one_email_and_one_webhook_then_nothing(store, meter, smtp, webhook):
    """A new open event reaches each channel once, with meter, cause, energy and link; a second run
    with the same event sends nothing."""
    repo = _setup(store, smtp, webhook)
    report = process(store, meter, _open_spike(), NEWEST, NOW)
    assert (report.sent, report.failed, report.suppressed) == (2, 0, 0)
    assert len(smtp.mailbox.messages) == 1 and len(webhook.hook.requests) == 1
    mail = smtp.mailbox.messages[0]
    assert "spike on hall-7" in mail["Subject"]
    body = smtp.mailbox.bodies()[0]
    assert CAUSE in body and "140.0 kWh above expected" in body
    assert "https://wattsup.example.org/anomaly_detection?meter=hall-7" in body
    hook = webhook.hook.requests[0]["json"]
    assert CAUSE in hook["message"] and "spike on hall-7" in hook["title"]

    again = process(store, meter, _open_spike(), NEWEST, NOW + timedelta(minutes=5))
    assert (again.sent, again.failed) == (0, 0)
    assert len(smtp.mailbox.messages) == 1 and len(webhook.hook.requests) == 1
    log = repo.log()
    assert sorted((n.channel, n.kind, n.status) for n in log) == [
        ("ops-hook", "firing", "sent"),
        ("ops-mail", "firing", "sent"),
    ]


def test_silence_suppresses_and_says_so(store, meter, smtp):
    """A matching silence: nothing sent, the log row says suppressed by which silence and why."""
    repo = _setup(store, smtp)
    silence = repo.add_silence(
        new_silence("hall-7", until="2h", now=NOW, created_by="ana", comment="maintenance")
    )
    report = process(store, meter, _open_spike(), NEWEST, NOW)
    assert (report.sent, report.suppressed) == (0, 1)
    assert smtp.mailbox.messages == []
    (row,) = repo.log()
    assert row.status == "suppressed"
    assert f"silence #{silence.id} by ana: maintenance" in row.reason
    # still silenced: logged once, not once per run
    assert process(store, meter, _open_spike(), NEWEST, NOW + timedelta(minutes=30)).suppressed == 0
    # the silence is over and the event still open: it goes out
    later = process(store, meter, _open_spike(), NEWEST, NOW + timedelta(hours=3))
    assert later.sent == 1 and len(smtp.mailbox.messages) == 1
    assert repo.log()[0].status == "sent"


def test_event_that_ends_sends_one_resolved_message(store, meter, smtp, webhook):
    """Open -> ended: one resolved message per channel, then nothing more."""
    _setup(store, smtp, webhook)
    assert process(store, meter, _open_spike(), NEWEST, NOW).sent == 2
    ended = events(spike("2023-01-15 22:00", "2023-01-15 23:00"))
    newer = NEWEST + pd.Timedelta("2h")
    report = process(store, meter, ended, newer, NOW + timedelta(hours=2))
    assert (report.sent, report.resolved) == (2, 2)
    assert smtp.mailbox.messages[-1]["Subject"].startswith("[WattsUp] resolved: spike on hall-7")
    assert "resolved" in webhook.hook.requests[-1]["json"]["title"]
    # the worker no longer passes the ended event: nothing more
    empty = events()
    assert (
        process(store, meter, empty, newer + pd.Timedelta("1h"), NOW + timedelta(hours=3)).sent == 0
    )
    assert len(smtp.mailbox.messages) == 2 and len(webhook.hook.requests) == 2


def test_vanished_open_event_is_resolved(store, meter, smtp):
    """A firing event missing from the next call's events has ended: one resolved message."""
    _setup(store, smtp)
    process(store, meter, _open_spike(), NEWEST, NOW)
    report = process(store, meter, events(), NEWEST + pd.Timedelta("1h"), NOW + timedelta(hours=1))
    assert report.resolved == 1 and len(smtp.mailbox.messages) == 2


def test_smtp_down_is_failed_then_delivered_when_back(store, meter, smtp):
    """SMTP stopped: retried, logged failed with the error; next run after it is back: delivered once."""
    repo = _setup(store, smtp)
    smtp.stop()
    report = process(store, meter, _open_spike(), NEWEST, NOW)
    assert (report.sent, report.failed) == (0, 1)
    (row,) = repo.log()
    assert row.status == "failed" and row.attempts == 3
    assert "refused" in row.reason.lower() or "error" in row.reason.lower()
    smtp.start()
    again = process(store, meter, _open_spike(), NEWEST, NOW + timedelta(minutes=5))
    assert again.sent == 1 and len(smtp.mailbox.messages) == 1
    (row,) = repo.log()
    assert row.status == "sent" and row.attempts == 4 and row.retried
    assert [h["status"] for h in row.history] == ["failed", "sent"]
    assert process(store, meter, _open_spike(), NEWEST, NOW + timedelta(minutes=10)).sent == 0
    assert len(smtp.mailbox.messages) == 1


def test_webhook_500_is_retried(store, meter, webhook):
    """A webhook answering 500 once is tried again within the run and delivered."""
    repo = _setup(store, webhook=webhook)
    webhook.hook.statuses = [500]
    report = process(store, meter, _open_spike(), NEWEST, NOW)
    assert report.sent == 1
    assert [r["status"] for r in webhook.hook.requests] == [500, 200]
    (row,) = repo.log()
    assert row.attempts == 2 and row.retried


def test_backfilled_history_sends_nothing(store, meter, smtp):
    """Events that ended long before the newest reading (a year pushed at once) never alert."""
    _setup(store, smtp)
    old = events(*(spike(f"2023-01-{d:02d} 20:00") for d in range(2, 13)))
    report = process(store, meter, old, NEWEST, NOW)
    assert report.sent == 0 and report.outside_lookback == 11
    assert smtp.mailbox.messages == []


def test_events_starting_within_group_wait_share_one_message(store, meter, smtp):
    """Two events an hour apart: one message (group_wait 1 h); with group_wait 0, two."""
    repo = _setup(store, smtp)
    two = events(spike("2023-01-15 20:00"), spike("2023-01-15 21:00", type="dip", excess=-30.0))
    assert process(store, meter, two, NEWEST, NOW).sent == 2  # two log rows ...
    assert len(smtp.mailbox.messages) == 1  # ... one message
    assert "2 events on hall-7" in smtp.mailbox.messages[0]["Subject"]
    assert "30.0 kWh below expected" in smtp.mailbox.bodies()[0]
    rows = repo.log()
    assert len({r.message_id for r in rows}) == 1

    repo.save_rule(new_rule("all-spikes", channels=["ops-mail"], group_wait=0), replace=True)
    later = events(spike("2023-01-15 18:00"), spike("2023-01-15 19:00", type="dip"))
    process(store, meter, later, NEWEST, NOW)
    assert len(smtp.mailbox.messages) == 3


def test_repeat_only_after_repeat_interval_while_open(store, meter, smtp):
    """Still open: no repeat before repeat_interval (4 h), one after it."""
    _setup(store, smtp)
    process(store, meter, _open_spike(), NEWEST, NOW)
    assert process(store, meter, _open_spike(), NEWEST, NOW + timedelta(hours=1)).sent == 0
    report = process(store, meter, _open_spike(), NEWEST, NOW + timedelta(hours=4))
    assert report.sent == 1
    assert smtp.mailbox.messages[-1]["Subject"].startswith("[WattsUp] still open:")


def test_rule_thresholds_and_quiet_hours(store, meter, smtp):
    """Below min_score nothing; in the rule's quiet hours the message is suppressed by the rule."""
    repo = _setup(store, smtp, min_score=8)
    assert process(store, meter, _open_spike(), NEWEST, NOW).sent == 0
    assert repo.log() == []
    repo.save_rule(
        new_rule("all-spikes", channels=["ops-mail"], quiet_hours="11:00-13:00"), replace=True
    )
    report = process(store, meter, _open_spike(), NEWEST, NOW)
    assert report.suppressed == 1
    assert "quiet time of rule all-spikes" in repo.log()[0].reason


def test_type_change_supersedes_without_resolved(store, meter, smtp):
    """The same start typed again (spike -> level shift): no resolved message, the new type fires."""
    _setup(store, smtp)
    process(store, meter, _open_spike(), NEWEST, NOW)
    grown = events(spike("2023-01-15 22:00", "2023-01-16 04:00", type="level_shift"))
    report = process(store, meter, grown, NEWEST + pd.Timedelta("5h"), NOW + timedelta(hours=5))
    assert (report.sent, report.resolved) == (1, 0)
    assert "level shift on hall-7" in smtp.mailbox.messages[-1]["Subject"]


class _Crash:
    """A notifier whose process dies mid-send (after the row was claimed)."""

    def send(self, url, subject, body):
        raise SystemExit("killed")


def test_killed_mid_send_is_not_sent_twice(store, meter, smtp):
    """A worker killed while sending leaves the row 'sending'; later runs mark it interrupted and
    never send it again (at most once)."""
    repo = _setup(store, smtp)
    with pytest.raises(SystemExit):
        process(store, meter, _open_spike(), NEWEST, NOW, notifier=_Crash())
    assert repo.log()[0].status == "sending"
    report = process(store, meter, _open_spike(), NEWEST, NOW + timedelta(minutes=10))
    assert (report.sent, report.interrupted) == (0, 1)
    assert repo.log()[0].status == "interrupted"
    assert smtp.mailbox.messages == []


def test_dry_run_writes_nothing(store, meter, smtp):
    """send=False plans and counts; nothing is sent or logged."""
    repo = _setup(store, smtp)
    report = process(store, meter, _open_spike(), NEWEST, NOW, send=False)
    assert report.planned == 1 and report.sent == 0
    assert repo.log() == [] and smtp.mailbox.messages == []


def test_event_like_a_dismissed_one_does_not_fire(store, meter, smtp):
    """A label said last Sunday's 22:00 spike was no anomaly: this Sunday's is logged suppressed."""
    repo = _setup(store, smtp)
    SqlLabelRepository(store).add("hall-7", "2023-01-08 22:00", "2023-01-08 23:00", "not_anomaly")
    report = process(store, meter, _open_spike(), NEWEST, NOW)
    assert (report.sent, report.suppressed) == (0, 1)
    assert "like one you dismissed" in repo.log()[0].reason
    assert smtp.mailbox.messages == []


def test_events_table_says_whether_each_event_alerted(store, meter, smtp):
    """event_alerts / with_alerts: the sent event reads 'sent to ops-mail', the other is blank."""
    _setup(store, smtp)
    process(store, meter, _open_spike(), NEWEST, NOW)
    table = with_alerts(
        events(spike("2023-01-15 22:00", "2023-01-15 23:00"), spike("2023-01-10 10:00")),
        event_alerts(store, "hall-7"),
    )
    assert table["alert"].tolist() == ["sent to ops-mail", ""]
