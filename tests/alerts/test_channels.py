"""Every channel kind the project names has a real receiver here and gets a test message through it
(a new kind in ``core.alerts.delivery.KINDS`` without a case fails)."""

from __future__ import annotations

import pytest

from core.alerts.channels import add_channel, send_test
from core.alerts.delivery import KINDS, channel_kind
from core.errors import DataError

# kind -> (the URL of the local receiver, how many messages it has seen)
CASES = {
    "email": (lambda smtp, hook: smtp.url, lambda smtp, hook: len(smtp.mailbox.messages)),
    "webhook": (lambda smtp, hook: hook.url("t"), lambda smtp, hook: len(hook.hook.requests)),
}


def test_every_kind_has_a_case():
    """The kinds delivery names are exactly the ones tested here."""
    assert set(KINDS.values()) == set(CASES)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_test_message_reaches_the_receiver(kind, store, smtp, webhook):
    """`send_test` delivers one message and logs it sent."""
    url_of, count = CASES[kind]
    channel = add_channel(store, f"c-{kind}", url_of(smtp, webhook))
    assert channel.kind == kind == channel_kind(url_of(smtp, webhook))
    row = send_test(store, f"c-{kind}")
    assert (row.status, row.kind, row.attempts) == ("sent", "test", 1)
    assert count(smtp, webhook) == 1


@pytest.mark.parametrize("url", ["", "nonsense", "http//x", "unknownscheme://x"])
def test_urls_apprise_cannot_use_are_refused_without_echo(store, url):
    """A bad URL: one line that does not repeat it (it may hold a secret)."""
    with pytest.raises(DataError) as err:
        add_channel(store, "bad", url)
    assert "not one Apprise can send to" in str(err.value)
    assert not url or url not in str(err.value)
