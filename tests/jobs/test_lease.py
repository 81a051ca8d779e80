"""One active worker per database: a second one stands by, and takes over when the lease expires."""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd
import pytest

from core.jobs.dispatch import no_dispatch
from core.jobs.policy import JobPolicy
from core.jobs.worker import Worker
from core.store.db import open_store
from core.store.jobs import SqlJobRepository, SqlLeaseRepository
from core.store.readings import to_us
from tests.jobs.conftest import Home, stop

WAIT_S = 90  # a worker process's start (imports) plus a pass, on a busy 2-core box


def wait_for(what: str, check: Callable[[], object], proc=None, log=None) -> object:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(
                f"the worker exited ({proc.returncode}) before {what}:\n{log.read_text()[-3000:]}"
            )
        found = check()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"no {what} within {WAIT_S} s" + (f":\n{log.read_text()[-3000:]}" if log else ""))


def test_lease_has_one_holder_until_it_expires(db_url: str, tmp_path) -> None:
    """Two workers asking at once: one gets the lease, the other is told who holds it; a renewal by
    a non-holder fails; after expiry (or release) the other takes it over. SQLite and PostgreSQL."""
    store = open_store(db_url, home=tmp_path)
    try:
        leases = SqlLeaseRepository(store)
        assert leases.acquire("a", 30)[0] is True
        ok, held = leases.acquire("b", 30)
        assert ok is False and held.holder == "a" and not held.expired()
        assert leases.renew("b", 30) is False and leases.renew("a", 30) is True
        assert leases.acquire("a", 0.001)[0] is True  # a renewal that lets it lapse at once
        wait_for("expiry", lambda: leases.current().expired())
        ok, taken = leases.acquire("b", 30)
        assert ok is True and taken.holder == "b" and leases.renew("a", 30) is False
        leases.release("b")
        assert leases.acquire("a", 30)[0] is True
    finally:
        store.close()


def test_second_worker_stands_by_then_takes_over(home: Home, lead: pd.DataFrame) -> None:
    """A running worker holds the lease and scores a push within seconds (the short poll); a
    ``--once`` worker beside it stands by, says so and scores nothing; once the first is killed
    (no release) and its lease expires, the next worker's pass holds it and scores what was pushed."""
    home.push("b118", lead.iloc[:-48])
    log = home.root / "worker.log"
    first = home.start("--no-alerts", "--lease-seconds", "3", "--poll-seconds", "0.2", log=log)
    store = home.store()
    leases, jobs = SqlLeaseRepository(store), SqlJobRepository(store)
    try:
        holder = wait_for(
            "lease",
            lambda: (held := leases.current()) and not held.expired() and held.holder,
            first,
            log,
        )
        wait_for("first pass", lambda: jobs.meters()[0].scored_to is not None, first, log)

        home.push("b118", lead.iloc[-48:-24])  # the running worker's poll sees the new revision
        newest = to_us(lead.index[-25], None)
        wait_for("the push scored", lambda: jobs.meters()[0].scored_to == newest, first, log)

        beside = home.once("--no-alerts")
        assert beside["standing_by"] is True and beside["lease_holder"] == holder
        assert beside["scored"] == 0 and "standing by" in beside["log"]

        stop(first, kill=True)  # a crash: the lease is not released, it has to expire
        home.push("b118", lead.iloc[-24:])
        wait_for("lease expiry", lambda: leases.current().expired())
        after = Worker(store, no_dispatch, JobPolicy(), models_dir=home.models).run_once()
    finally:
        stop(first, kill=True)
        store.close()
    assert after.standing_by is False and [s.points for s in after.scored] == [24]
    assert after.holder != holder
