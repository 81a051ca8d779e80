"""End to end, real parts on loopback: API push -> ``worker --once`` -> one email and one webhook.

A real uvicorn API server (``tests/api/server.py``) on a SQLite file, real LEAD readings (building
118, hourly kWh) pushed through it with spikes injected at midday, a real aiosmtpd SMTP server and
a real HTTP receiver (``tests/alerts/servers.py``), and ``python -m core worker --once`` as a
process for the first delivery and for the delivery after the SMTP outage; the steps between run
the same ``Worker.run_once`` the command runs, in the test process (a process start costs ~4 s
of imports on a busy 2-core box). When a pass returns, what it delivered has arrived (SMTP and
the webhook answer before the worker moves on), so each step checks the mailbox as it stands.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from cryptography.fernet import Fernet

from core.alerts.channels import add_channel
from core.alerts.rules import new_rule, new_silence
from core.jobs.dispatch import alerts_dispatch
from core.jobs.policy import JobPolicy
from core.jobs.worker import Worker
from core.store.alerts import SqlAlertRepository
from core.store.db import open_store
from core.store.jobs import utcnow
from core.store.runs import SqlRunRepository
from tests.alerts.servers import SmtpServer, WebhookServer
from tests.api.conftest import push
from tests.api.server import ApiServer, api_server
from tests.conftest import REPO
from tests.jobs.conftest import WORKER_TIMEOUT_S, Home, lead_building

METER = "lead-118"
SPIKE = 3.0  # times the reading: a spike the rule's min score passes on any weekday noon


@pytest.fixture
def servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    monkeypatch.setenv("WATTSUP_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("WATTSUP_ALERT_BACKOFF_S", "0.01")
    monkeypatch.setenv("WATTSUP_APP_URL", "https://wattsup.example.org")
    smtp, hook = SmtpServer(), WebhookServer()
    smtp.start()
    hook.start()
    root = tmp_path / "api"
    try:
        with api_server(f"sqlite:///{tmp_path / 'wattsup.db'}", root, "sqlite") as api:
            yield api, smtp, hook, Home(tmp_path)
    finally:
        smtp.stop()
        hook.stop()


def spiked(frame: pd.DataFrame, hours: int = 2) -> pd.DataFrame:
    out = frame.copy()
    out.iloc[-hours:, 0] = out.iloc[-hours:, 0] * SPIKE
    return out


def run_once(home: Home, api: ApiServer) -> dict:
    """``python -m core worker --once`` on the API server's database, to its end; its report."""
    done = subprocess.run(
        home.argv("--once"),
        cwd=REPO,
        env={**home.env, "WATTSUP_DATABASE_URL": api.db_url},
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}, report
    return report


def test_push_spike_email_webhook_silence_resolve_and_smtp_outage(servers) -> None:
    """One email and one webhook name the pushed spike with its cause; a second pass sends
    nothing; the spike's end sends one "resolved"; under a silence a new spike is logged as
    suppressed and not sent; with SMTP down the email is logged failed (the webhook goes), and
    the next pass after SMTP is back sends it once."""
    api, smtp, hook, home = servers
    data = lead_building(days=66)  # 1 March - 5 May 2016
    day = lambda a, b: data.loc[a:b]  # noqa: E731
    store = open_store(api.db_url, home=api.home)
    alerts = SqlAlertRepository(store)
    add_channel(store, "ops-mail", smtp.url)
    add_channel(store, "ops-hook", hook.url())
    alerts.save_rule(new_rule("spikes", channels="ops-mail,ops-hook", types="spike", min_score=3))
    mails, hooks = smtp.mailbox.messages, hook.hook.requests

    def run() -> dict:
        report = Worker(store, alerts_dispatch(), JobPolicy(), models_dir=home.models).run_once()
        assert report.errors == {} and not report.standing_by
        return report.to_dict()

    try:
        with api.client() as client:
            r = client.post("/v1/meters", json={"name": METER, "unit": "kWh", "step": "1h"})
            assert r.status_code == 201, r.text
            # 1. nine weeks up to Monday 2 May 13:00, the last two hours at three times the reading
            push(client, METER, spiked(day(None, "2016-05-02 13:00")), batch=2000)
            first = run_once(home, api)
            assert first["scored"] == 1
            assert (len(mails), len(hooks)) == (1, 1)
            event = _spike(store)
            body = smtp.mailbox.bodies()[0]
            assert METER in body and "spike" in body.lower() and event.cause in body
            assert "spike" in mails[0]["Subject"]
            assert event.cause in hooks[0]["json"]["message"] and METER in hooks[0]["json"]["title"]

            # 2. nothing new: nothing sent
            run()
            assert (len(mails), len(hooks)) == (1, 1)

            # 3. the spike ends (normal readings up to Tuesday 11:00): one resolved, each channel
            push(client, METER, day("2016-05-02 14:00", "2016-05-03 11:00"), batch=2000)
            run()
            assert (len(mails), len(hooks)) == (2, 2)
            assert "resolved" in mails[1]["Subject"]

            # 4. a silence, then another spike at Tuesday noon: logged as suppressed, not sent
            silence = alerts.add_silence(
                new_silence(METER, until="1h", now=utcnow(), created_by="test", comment="works")
            )
            push(client, METER, spiked(day("2016-05-03 12:00", "2016-05-03 13:00")))
            run()
            assert (len(mails), len(hooks)) == (2, 2)
            assert alerts.log(meter=METER, status="suppressed")
            alerts.end_silence(silence.id, utcnow())

            # 5. SMTP down during a run with a third spike (Wednesday noon): the email is logged
            # failed, the webhook delivered; SMTP back: the next pass sends the email, once
            smtp.stop()
            push(client, METER, day("2016-05-03 14:00", "2016-05-04 11:00"), batch=2000)
            push(client, METER, spiked(day("2016-05-04 12:00", "2016-05-04 13:00")))
            run()
            assert len(mails) == 2 and len(hooks) == 3
            assert alerts.log(meter=METER, status="failed", channel="ops-mail")
            smtp.start()
            run_once(home, api)
            assert len(mails) == 3 and len(hooks) == 3
            assert "2016-05-04" in mails[2]["Subject"]
            run()
            assert len(mails) == 3 and len(hooks) == 3
    finally:
        store.close()


def _spike(store):
    runs = SqlRunRepository(store)
    events = runs.events(runs.last(METER))
    found = events[events["type"] == "spike"]
    assert len(found) == 1, events
    return found.iloc[0]
