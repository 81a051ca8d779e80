"""The worker: one ``worker --once`` pass over N meters that each got a day of new readings, and
the time from an API push to the alert email arriving (p50 / p95), on loopback.

``python -m benchmarks.worker [--meters N] [--pushes K]`` prints one row per case.

* **pass**: N meters (default 1,000) of synthetic hourly kWh (daily and weekly cycle, noise, one
  seed each) in a fresh SQLite store, 36 days each. A first pass (not timed) fits every meter's
  model (the default causal ensemble) on its first 35 days and scores the last day. Then every
  meter gets the next 24 hourly readings of its series and ``python -m core worker --once
  --no-alerts`` runs as a real process: the row gives its wall time (process start and imports
  included), the pass time it reports (load each model, score the new day after its 31-day
  warm-up, record the run, advance the state) and its CPU time. Then a second new day, with
  ``--processes 2`` (one per core). The setup's first pass runs in two processes.
* **push -> email**: a real API server (``tests/api/server.py``), a real SMTP server (aiosmtpd),
  a running worker (poll every 0.2 s), one meter with a rule for spikes and an email channel; each
  of K rounds pushes one hour with a spike, waits for the email, then pushes a normal hour (the
  spike's "resolved" message is drained). The row gives p50 / p95 / max of push -> email.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
METERS = 1_000
HISTORY_DAYS = 36
POLICY = dict(train_days=35.0, min_train_days=14.0, backfill_days=1.0)


def meter_frame(seed: int, start: str, hours: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range(start, periods=hours, freq="1h", name="timestamp", unit="ns")
    hour = idx.hour.to_numpy()
    level = 20 + 30 * rng.random()
    daily = np.exp(-((hour - 13) ** 2) / 18)
    weekly = np.where(idx.day_of_week.to_numpy() >= 5, 0.6, 1.0)
    value = level * (1 + daily) * weekly + rng.normal(0, 0.05 * level, hours)
    return pd.DataFrame({"value": value.round(3)}, index=idx)


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "WATTSUP_HOME": str(home / "home"),
        "WATTSUP_MODELS_DIR": str(home / "models"),
        "WATTSUP_DATABASE_URL": "",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }


def _first_pass(args: tuple[str, list[int]]) -> int:
    """Setup: score (and so fit) some meters, in a process of its own."""
    home, ids = args
    os.environ.update(_env(Path(home)))
    from core.jobs.dispatch import no_dispatch
    from core.jobs.policy import JobPolicy
    from core.jobs.scoring import ModelCache, score_meter
    from core.jobs.upkeep import refresh_forecast
    from core.store.db import open_store
    from core.store.jobs import SqlJobRepository, utcnow

    store = open_store()
    policy = JobPolicy(**POLICY)
    for job in SqlJobRepository(store).meters(ids):
        score_meter(store, job, policy, no_dispatch, utcnow(), ModelCache(1, Path(home) / "models"))
        refresh_forecast(store, job, policy, utcnow())  # daily: not due in the timed pass
    store.close()
    return len(ids)


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children: the pass's own cost, which
    a busy machine does not inflate the way it inflates wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pass_rows(n: int, log=print) -> list[dict]:
    from core.store.db import open_store
    from core.store.meters import SqlMeterRepository

    with tempfile.TemporaryDirectory(prefix="wattsup-bench-worker-") as tmp:
        home = Path(tmp)
        (home / "home").mkdir()
        os.environ.update(_env(home))
        store = open_store()
        repo = SqlMeterRepository(store)
        t0 = time.perf_counter()
        hours = 24 * HISTORY_DAYS
        frames = [meter_frame(i, "2024-01-01", hours + 48) for i in range(n)]  # + two new days
        for i, frame in enumerate(frames):
            repo.import_frame(f"m{i:04d}", frame.iloc[:hours], unit="kWh", step=pd.Timedelta("1h"))
        log(
            f"worker: {n} meters x {24 * HISTORY_DAYS} readings imported in {time.perf_counter() - t0:.1f} s"
        )
        ids = list(range(1, n + 1))
        t0 = time.perf_counter()
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(_first_pass, [(str(home), ids[0::2]), (str(home), ids[1::2])]))
        setup = time.perf_counter() - t0
        log(f"worker: first pass (fits {n} models) in {setup:.1f} s, two processes")
        rows = []
        for day, processes in enumerate((1, 2)):
            for i, frame in enumerate(frames):
                new = frame.iloc[hours + 24 * day : hours + 24 * (day + 1)]
                repo.import_frame(f"m{i:04d}", new, unit="kWh", step=pd.Timedelta("1h"))
            rows.append(_timed_pass(home, n, processes, setup))
        store.close()
    return rows


def _timed_pass(home: Path, n: int, processes: int, setup: float) -> dict:
    """``python -m core worker --once`` as a process over the meters' new day."""
    argv = [
        sys.executable,
        "-m",
        "core",
        "worker",
        "--once",
        "--no-alerts",
        "--train-days",
        "35",
        "--backfill-days",
        "1",
        "--log-level",
        "warning",
        "--processes",
        str(processes),
    ]
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=_env(home), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "case": f"worker --once --processes {processes}: {n:,} meters x 24 new hourly readings",
        "seconds": round(wall, 1),
        "pass_s": report["seconds"],
        "per_meter_ms": round(1000 * report["seconds"] / n, 1),
        "cpu_s": round(cpu, 1),
        "load": round(os.getloadavg()[0], 1),
        "scored": report["scored"],
        "points": report["points"],
        "errors": len(report["errors"]),
        "note": "wall incl. process start; cpu_s: CPU time of the worker and its children; load: "
        f"1-min load average after; setup first pass {setup:.0f} s (2 processes)",
    }


def _wait(what: str, check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.005)
    raise RuntimeError(f"no {what} within {timeout:g} s")


def latency_rows(pushes: int, log=print) -> list[dict]:
    """Push -> email on loopback: API server, SMTP server and a running worker, all real."""
    from cryptography.fernet import Fernet

    from core.alerts.channels import add_channel
    from core.alerts.rules import new_rule
    from core.store.alerts import SqlAlertRepository
    from core.store.db import open_store
    from core.store.jobs import SqlJobRepository
    from core.store.readings import to_us
    from tests.alerts.servers import SmtpServer
    from tests.api.conftest import records
    from tests.api.server import api_server

    os.environ.setdefault("WATTSUP_SECRET_KEY", Fernet.generate_key().decode())
    os.environ["WATTSUP_ALERT_BACKOFF_S"] = "0.05"
    hours = 24 * HISTORY_DAYS
    frame = meter_frame(7, "2024-01-01", hours + 24 * 30)
    history, later = frame.iloc[:hours], frame.iloc[hours:]
    smtp = SmtpServer()
    smtp.start()
    mails = smtp.mailbox.messages
    latencies: list[float] = []
    with tempfile.TemporaryDirectory(prefix="wattsup-bench-latency-") as tmp:
        root = Path(tmp)
        (root / "home").mkdir()
        db_url = f"sqlite:///{root / 'wattsup.db'}"
        worker = None
        try:
            with api_server(db_url, root / "api", "sqlite") as api, api.client() as client:
                store = open_store(db_url, home=api.home)
                add_channel(store, "mail", smtp.url)
                SqlAlertRepository(store).save_rule(new_rule("all", channels="mail", min_score=3))
                r = client.post("/v1/meters", json={"name": "bench", "unit": "kWh", "step": "1h"})
                r.raise_for_status()
                client.post("/v1/meters/bench/readings", json=records(history)).raise_for_status()
                env = {**_env(root), "WATTSUP_DATABASE_URL": db_url}
                argv = [
                    sys.executable,
                    "-m",
                    "core",
                    "worker",
                    "--poll-seconds",
                    "0.2",
                    "--train-days",
                    "35",
                    "--backfill-days",
                    "1",
                    "--log-level",
                    "warning",
                ]
                log_file = (root / "worker.log").open("wb")
                worker = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log_file, stderr=log_file)
                jobs = SqlJobRepository(store)
                newest = to_us(history.index[-1], None)

                def scored_to(ts: int) -> bool:
                    found = jobs.meters()
                    return bool(found) and found[0].scored_to == ts

                _wait("first pass", lambda: scored_to(newest), 180)
                at = 0
                for _ in range(pushes):
                    while later.index[at].hour != 11:  # a spike at 11:00, then normal hours
                        at += 1
                    spike = later.iloc[at : at + 1].copy()
                    spike["value"] *= 4
                    before = len(mails)
                    t0 = time.perf_counter()
                    client.post("/v1/meters/bench/readings", json=records(spike)).raise_for_status()
                    _wait("email", lambda n=before: len(mails) > n, 60)
                    latencies.append(time.perf_counter() - t0)
                    at += 1
                    resolved = len(mails) + 1
                    for _ in range(8):  # normal hours until the spike's "resolved" is drained
                        normal = later.iloc[at : at + 1]
                        client.post(
                            "/v1/meters/bench/readings", json=records(normal)
                        ).raise_for_status()
                        at += 1
                        ts = to_us(normal.index[-1], None)
                        _wait("scored", lambda ts=ts: scored_to(ts), 60)
                        if len(mails) >= resolved:
                            break
                store.close()
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)
            smtp.stop()
    ms = np.array(latencies) * 1000
    log(f"worker: push -> email over {len(ms)} spikes: p50 {np.percentile(ms, 50):.0f} ms")
    return [
        {
            "case": f"push -> email, {len(ms)} spikes (API, worker poll 0.2 s, SMTP on loopback)",
            "seconds": round(float(np.percentile(ms, 50)) / 1000, 3),
            "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "max_ms": round(float(ms.max()), 1),
            "note": "push sent -> message in the SMTP server's mailbox",
        }
    ]


def run(smoke: bool = False, meters: int | None = None, pushes: int | None = None) -> list[dict]:
    n = meters or (20 if smoke else METERS)
    return pass_rows(n) + latency_rows(pushes or (3 if smoke else 20))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    p.add_argument("--meters", type=int, default=METERS)
    p.add_argument("--pushes", type=int, default=20)
    p.add_argument("--only", choices=("pass", "latency"), default=None)
    args = p.parse_args(argv)
    if args.only == "pass":
        rows = pass_rows(args.meters)
    elif args.only == "latency":
        rows = latency_rows(args.pushes)
    else:
        rows = run(meters=args.meters, pushes=args.pushes)
    for row in rows:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
