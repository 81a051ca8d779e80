"""The alert lifecycle on SQLite and on a real PostgreSQL: send once, never twice, resolve once,
suppress with a silence, fail and deliver later; two claims of one log row: only one wins."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd

from core.alerts.channels import add_channel
from core.alerts.dispatch import process
from core.alerts.rules import new_rule, new_silence
from core.store.alerts import SqlAlertRepository
from core.store.db import open_store
from core.store.meters import SqlMeterRepository
from tests.alerts.conftest import NOW, events, spike
from tests.conftest import synthetic_frame
from tests.store.conftest import db_url, pg_server  # noqa: F401  (both dialects)

NEWEST = pd.Timestamp("2023-01-15 23:00")


def test_lifecycle_on_both_databases(db_url: str, tmp_path: Path, smtp, webhook) -> None:  # noqa: F811
    """Firing once per channel, nothing on the rerun, a silence suppresses a new event, a failing
    webhook is retried next run, the end sends one resolved message per channel."""
    store = open_store(db_url, home=tmp_path / "home")
    try:
        meters = SqlMeterRepository(store)
        meters.import_frame("hall-7", synthetic_frame(14), unit="kWh")
        meter = meters.get("hall-7")
        add_channel(store, "mail", smtp.url)
        add_channel(store, "hook", webhook.url())
        repo = SqlAlertRepository(store)
        repo.save_rule(new_rule("all", channels=["mail", "hook"]))
        open_ = events(spike("2023-01-15 22:00", "2023-01-15 23:00"))
        assert process(store, meter, open_, NEWEST, NOW).sent == 2
        assert process(store, meter, open_, NEWEST, NOW + timedelta(minutes=1)).sent == 0

        repo.add_silence(new_silence("hall-7", until="1h", now=NOW, types="dip", comment="x"))
        webhook.hook.statuses = [500, 500, 500]
        both = events(
            spike("2023-01-15 22:00", "2023-01-15 23:00"),
            spike("2023-01-15 23:00", type="dip", excess=-50.0),
        )
        report = process(store, meter, both, NEWEST, NOW + timedelta(minutes=2))
        assert (report.sent, report.suppressed) == (0, 2)  # the dip: silenced on both channels
        ended = events(spike("2023-01-15 22:00", "2023-01-15 23:00"))
        later = NEWEST + pd.Timedelta("2h")
        report = process(store, meter, ended, later, NOW + timedelta(hours=2))
        assert (report.resolved, report.failed) == (1, 1)  # the webhook 500s three times
        report = process(store, meter, events(), later, NOW + timedelta(hours=2, minutes=5))
        assert report.resolved == 1  # ... and gets it on the next run
        assert len(smtp.mailbox.messages) == 2 and len(webhook.hook.requests) == 5

        row = {
            "owner": None,
            "fingerprint": "f" * 24,
            "channel": "mail",
            "kind": "firing",
            "seq": 0,
            "status": "sending",
            "attempts": 0,
            "message_id": "m",
        }
        assert repo.claim(row) is not None and repo.claim(row) is None
    finally:
        store.close()
