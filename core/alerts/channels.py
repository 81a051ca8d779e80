"""Channels: add one (URL checked by Apprise, sealed, masked), unseal it to send, send a test message.

The CLI, the API and the Alerts page call these; none of them ever holds a stored URL in clear
except :func:`channel_url`, which the sender calls right before Apprise does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from core.alerts.delivery import (
    AppriseNotifier,
    Notifier,
    RetryPolicy,
    channel_kind,
    check_url,
    deliver,
    register_secret,
)
from core.alerts.message import test_message
from core.alerts.rules import check_name
from core.auth.secrets import mask_url, seal, unseal
from core.store.alerts import Channel, Notification, SqlAlertRepository
from core.store.db import Store


def add_channel(store: Store, name: str, url: str, *, owner: str | None = None) -> Channel:
    """Store a channel: the URL checked, sealed, and kept masked for display."""
    check_name(name, "channel")
    url = check_url(url)
    return SqlAlertRepository(store).add_channel(
        name, channel_kind(url), seal(url), mask_url(url), owner=owner
    )


def channel_url(channel: Channel) -> str:
    """The channel's URL in clear (registered with the log filter first)."""
    url = unseal(channel.url_sealed)
    register_secret(url)
    return url


def send_test(
    store: Store,
    name: str,
    *,
    owner: str | None = None,
    notifier: Notifier | None = None,
    retry: RetryPolicy | None = None,
    now: datetime | None = None,
) -> Notification:
    """Send a test message to a channel and log it (kind ``test``); the log row comes back."""
    repo = SqlAlertRepository(store)
    channel = repo.channel(name, owner=owner)
    now = now or datetime.now(UTC)
    url = channel_url(channel)  # before the row: a key that cannot open it is one line, no row
    subject, body = test_message(name)
    row_id = repo.claim(
        {
            "owner": owner,
            "fingerprint": None,
            "channel": name,
            "kind": "test",
            "seq": 0,
            "status": "sending",
            "attempts": 0,
            "message_id": uuid.uuid4().hex,
            "subject": subject,
            "history": [],
        }
    )
    assert row_id is not None  # test rows have no fingerprint, so no key to collide with
    outcome, tries = deliver(
        notifier or AppriseNotifier(),
        url,
        subject,
        body,
        retry or RetryPolicy(tries=1),
    )
    status = "sent" if outcome.ok else "failed"
    repo.finish([row_id], status, reason=outcome.error, attempts=tries, when=now)
    return next(
        n for n in repo.log(owner=owner, channel=name, kind="test", limit=5) if n.id == row_id
    )
