"""A channel URL with a password and a token never appears in clear: not in logs (Apprise's and
urllib3's at DEBUG included), not in the log rows, not in what lists show, not in the raw database."""

from __future__ import annotations

import logging
import sqlite3

import pandas as pd
import pytest
from cryptography.fernet import Fernet

from core.alerts.channels import add_channel, send_test
from core.alerts.dispatch import process
from core.alerts.rules import new_rule
from core.errors import DataError
from core.store.alerts import SqlAlertRepository
from tests.alerts.conftest import NOW, events, spike

PASSWORD = "s3cretPassW0rd"
TOKEN = "T0KENxyz987"


def secret_url(port: int) -> str:
    return f"json://hookuser:{PASSWORD}@127.0.0.1:{port}/hooks/{TOKEN}?apikey={TOKEN}q"


def _raw_dump(store) -> str:
    con = sqlite3.connect(store.engine.url.database)
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


def test_channel_secret_never_in_clear(store, meter, webhook, caplog: pytest.LogCaptureFixture):
    """Send through a secret URL (once failing, once delivered) with every logger at DEBUG: the
    password and token show nowhere but in the request the receiver got."""
    caplog.set_level(logging.DEBUG)
    url = secret_url(webhook.port)
    channel = add_channel(store, "secret-hook", url)
    assert PASSWORD not in channel.url_masked and TOKEN not in channel.url_masked
    assert channel.url_masked.startswith("json://***:***@127.0.0.1")
    repo = SqlAlertRepository(store)
    repo.save_rule(new_rule("r", channels=["secret-hook"]))
    webhook.hook.statuses = [500, 500, 500]
    newest = pd.Timestamp("2023-01-15 23:00")
    ev = events(spike("2023-01-15 22:00", "2023-01-15 23:00"))
    assert process(store, meter, ev, newest, NOW).failed == 1
    assert process(store, meter, ev, newest, NOW).sent == 1
    assert send_test(store, "secret-hook").status == "sent"
    assert webhook.hook.requests[-1]["path"] == f"/hooks/{TOKEN}"  # it did arrive

    shown = [caplog.text, _raw_dump(store)]
    shown += [repr(n.to_dict()) for n in repo.log()]
    shown += [repr(c.to_dict()) for c in repo.channels()]
    for text in shown:
        assert PASSWORD not in text
        assert TOKEN not in text
    assert "apprise" in caplog.text.lower() or caplog.records  # the logs were really captured


def test_a_changed_key_is_a_logged_failure_not_a_crash(store, meter, webhook, monkeypatch):
    """The secret key replaced: the send is logged failed saying to restore the key or re-enter
    the channel; a channel test answers that line (a DataError) and logs nothing half-done."""
    add_channel(store, "hook", webhook.url())
    repo = SqlAlertRepository(store)
    repo.save_rule(new_rule("r", channels=["hook"]))
    monkeypatch.setenv("WATTSUP_SECRET_KEY", Fernet.generate_key().decode())
    ev = events(spike("2023-01-15 22:00", "2023-01-15 23:00"))
    report = process(store, meter, ev, pd.Timestamp("2023-01-15 23:00"), NOW)
    assert report.failed == 1 and "secret key" in repo.log()[0].reason
    with pytest.raises(DataError, match="secret key"):
        send_test(store, "hook")
    assert [n.kind for n in repo.log()] == ["firing"] and webhook.hook.requests == []
