"""The worker process: one active worker per database (a lease), its scheduled jobs, and ``--once``.

==============  ======================  ===================================================
job             when                    what
==============  ======================  ===================================================
``lease``       every ``ttl / 3``       take or renew the lease (own thread, so a long
                                        pass never lets it lapse); log standing by / taking
                                        over / losing it
``poll``        every ``poll_every_s``  meters whose revision changed since the last look
                                        (an import or an API push redraws it) are scored
``score``       every ``score_every_s`` every meter with readings after ``scored_to``; a
                                        meter still in an open event with nothing new gets
                                        its last run handed on again (the alerts retry a
                                        failed channel, repeat what is due)
``retrain``     hourly                  models older than the policy with enough new data
``forecast``    hourly                  forecasts older than ``forecast_every``
==============  ======================  ===================================================

Every job is coalesced (missed runs collapse into one), ``max_instances=1`` and has a misfire
grace; the four work jobs share one thread, so two of them never score the same meter at once. A
work job does nothing unless this worker holds the lease, and stops between meters when it loses
it. With ``processes > 1`` a pass over many due meters is split over child processes
(``core.jobs.parallel``; the lease stays with the parent). ``Worker.run_once`` (``python -m core
worker --once``) takes the lease, runs every due job once
(finish half-done passes, score, retrain, forecast), releases the lease and returns a report; with
the lease held by another live worker it stands by and returns at once.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import DataError
from core.jobs.dispatch import Dispatch
from core.jobs.parallel import score_in_processes
from core.jobs.policy import JobPolicy
from core.jobs.scoring import ModelCache, Scored, needs_scoring, redispatch_open, score_meter
from core.jobs.upkeep import forecast_due, refresh_forecast, retrain, retrain_due
from core.store.db import Store
from core.store.jobs import Lease, MeterJob, SqlJobRepository, SqlLeaseRepository, utcnow

log = logging.getLogger("wattsup.worker")
MISFIRE_GRACE_S = 60  # a job late by less than this still runs (a busy box, a long pass)
UPKEEP_EVERY_S = 3600  # retrain and forecast checks: their policies are in days
PARALLEL_FROM = 20  # due meters per process before a pass is split: a child's start costs ~3 s


@dataclass
class PassReport:
    """What one pass over the meters did (``to_dict`` for the command's JSON line)."""

    holder: str
    standing_by: bool = False
    lease_holder: str | None = None
    lease_expires: datetime | None = None
    meters: int = 0
    scored: list[Scored] = field(default_factory=list)
    retrained: list[str] = field(default_factory=list)
    forecasts: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "holder": self.holder,
            "standing_by": self.standing_by,
            "lease_holder": self.lease_holder,
            "lease_expires": None if self.lease_expires is None else self.lease_expires.isoformat(),
            "meters": self.meters,
            "scored": len([s for s in self.scored if s.run_id is not None]),
            "points": sum(s.points for s in self.scored),
            "events": sum(s.events for s in self.scored),
            "finished_pending": sum(s.finished_pending for s in self.scored),
            "retrained": self.retrained,
            "forecasts": len(self.forecasts),
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
        }


def holder_id() -> str:
    """``host:pid:random``: who holds the lease, readable in logs, unique per process start."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    """Scheduled work over one store (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        dispatch: Dispatch,
        policy: JobPolicy | None = None,
        *,
        holder: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        models_dir: Path | None = None,
        processes: int = 1,
        dispatch_name: str | None = None,
    ) -> None:
        self.store = store
        self.dispatch = dispatch
        self.policy = policy or JobPolicy()
        self.holder = holder or holder_id()
        self.clock = clock
        self.leases = SqlLeaseRepository(store)
        self.jobs = SqlJobRepository(store)
        self.models = ModelCache(root=models_dir)  # None: pipeline.MODELS_DIR
        # a pass over many meters in child processes needs a dispatch they can rebuild by name
        self.processes = processes if dispatch_name is not None else 1
        self.dispatch_name = dispatch_name
        self.held = threading.Event()
        self._seen: dict[int, str | None] | None = None
        self._standing_by_logged = False
        self._on_held: Callable[[], None] | None = None  # run_forever: score at once when taken

    # ---- the lease --------------------------------------------------------------------------------
    def take_lease(self) -> tuple[bool, Lease]:
        """Take or renew the lease; logs when this worker starts or stops standing by."""
        ok, lease = self.leases.acquire(self.holder, self.policy.lease_ttl_s)
        was = self.held.is_set()
        if ok:
            self.held.set()
            if not was:
                log.info(
                    "worker %s holds the lease until %s", self.holder, lease.expires.isoformat()
                )
                if self._on_held is not None:
                    self._on_held()
            self._standing_by_logged = False
        else:
            self.held.clear()
            if was:
                log.warning(
                    "worker %s lost the lease to %s: stopping work", self.holder, lease.holder
                )
            if not self._standing_by_logged:
                log.info(
                    "standing by: worker %s holds the lease until %s",
                    lease.holder,
                    lease.expires.isoformat(),
                )
                self._standing_by_logged = True
        return ok, lease

    def release(self) -> None:
        if self.held.is_set():
            self.leases.release(self.holder)
            self.held.clear()
            log.info("worker %s released the lease", self.holder)

    @contextmanager
    def heartbeat(self) -> Iterator[None]:
        """Renew the lease from a thread of its own while the block runs."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.policy.lease_ttl_s / 3):
                try:
                    self.take_lease()
                except DataError as err:  # the database is down: the lease lapses on its own
                    log.warning("lease not renewed: %s", err)

        thread = threading.Thread(target=beat, name="wattsup-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)

    # ---- the jobs ---------------------------------------------------------------------------------
    def score(self, report: PassReport | None = None, ids: list[int] | None = None) -> PassReport:
        """Score every meter with new readings (or only ``ids``), meter by meter."""
        report = report or PassReport(self.holder)
        if ids is None:  # what the poll compares with: a push from now on is the poll's to see
            self._seen = self.jobs.revisions()
        found = self.jobs.meters(ids)
        report.meters = max(report.meters, len(found))
        due = [j.meter_id for j in found if needs_scoring(j)]
        if self.processes > 1 and len(due) >= PARALLEL_FROM * self.processes:
            part = score_in_processes(
                self.store,
                due,
                self.policy,
                processes=self.processes,
                dispatch=self.dispatch_name or "none",
                models_dir=self.models.root,
            )
            report.scored += part.scored
            report.errors.update(part.errors)
            found = [j for j in found if j.meter_id not in set(due)]
        for job in found:
            if not self.held.is_set():
                break
            if needs_scoring(job):
                self._each(report, job, lambda j: report.scored.append(self._score(j)))
            elif ids is None and job.open_from is not None:
                self._each(report, job, self._redispatch)
        return report

    def poll(self) -> None:
        """Score the meters whose revision changed since the last poll or full pass (a push, an
        import); before the first full pass there is nothing to compare with (it scores all)."""
        if self._seen is None:
            return
        now = self.jobs.revisions()
        seen, self._seen = self._seen, now
        changed = [m for m, rev in now.items() if seen.get(m) != rev]
        if changed:
            self.score(ids=changed)

    def upkeep(self, report: PassReport | None = None) -> PassReport:
        """Retrain and forecast the meters whose policy says so."""
        report = report or PassReport(self.holder)
        for job in self.jobs.meters():
            if not self.held.is_set():
                break
            now = self.clock()
            if retrain_due(job, self.policy, now):
                self._each(report, job, lambda j: self._retrain(j, report))
            if forecast_due(job, self.policy, now):
                self._each(report, job, lambda j: self._forecast(j, report))
        return report

    def _score(self, job: MeterJob) -> Scored:
        return score_meter(self.store, job, self.policy, self.dispatch, self.clock(), self.models)

    def _redispatch(self, job: MeterJob) -> None:
        redispatch_open(self.store, job, self.dispatch, self.clock())

    def _retrain(self, job: MeterJob, report: PassReport) -> None:
        model = retrain(self.store, job, self.policy, self.clock(), self.models.root)
        report.retrained.append(job.name)
        log.info("meter %s: retrained, model %s", job.name, model.model_id)

    def _forecast(self, job: MeterJob, report: PassReport) -> None:
        refresh_forecast(self.store, job, self.policy, self.clock())
        report.forecasts.append(job.name)

    def _each(self, report: PassReport, job: MeterJob, work: Callable[[MeterJob], Any]) -> None:
        """Run one meter's job; its failure is logged and kept in its state, never fatal."""
        try:
            work(job)
        except DataError as err:
            self._failed(report, job, str(err))
        except Exception as err:  # one meter's bug must not stop the others: logged, kept, next
            log.exception("meter %s: job failed", job.name)
            self._failed(report, job, f"{type(err).__name__}: {err}")

    def _failed(self, report: PassReport, job: MeterJob, line: str) -> None:
        report.errors[job.name] = line
        log.warning("meter %s: %s", job.name, line)
        with suppress(DataError):
            self.jobs.update(job.meter_id, error=line[:2000])

    # ---- front doors ------------------------------------------------------------------------------
    def run_once(self) -> PassReport:
        """Every due job once under the lease (or stand by); see the module docstring."""
        t0 = time.perf_counter()
        report = PassReport(self.holder)
        ok, lease = self.take_lease()
        if not ok:
            report.standing_by = True
            report.lease_holder, report.lease_expires = lease.holder, lease.expires
            return report
        try:
            with self.heartbeat():
                self.score(report)
                self.upkeep(report)
        finally:
            self.release()
            report.seconds = time.perf_counter() - t0
        return report

    def run_forever(self, stop: threading.Event | None = None) -> None:
        """The scheduled jobs until ``stop`` is set or SIGINT / SIGTERM arrives."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        stop = stop or threading.Event()
        p = self.policy
        scheduler = BackgroundScheduler(
            executors={"lease": ThreadPoolExecutor(1), "work": ThreadPoolExecutor(1)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_S,
            },
            timezone="UTC",
        )
        every = {
            "lease": (self.take_lease, p.lease_ttl_s / 3, "lease"),
            "poll": (self.poll, p.poll_every_s, "work"),
            "score": (self.score, p.score_every_s, "work"),
            "upkeep": (self.upkeep, UPKEEP_EVERY_S, "work"),
        }
        for name, (job, seconds, executor) in every.items():
            run = self._guarded(job) if name == "lease" else self._working(job)
            scheduler.add_job(
                run, "interval", seconds=seconds, id=name, name=name, executor=executor
            )
        scheduler.modify_job("lease", next_run_time=datetime.now(UTC))

        def at_once() -> None:  # the lease was just taken: a full pass and upkeep now
            for name in ("score", "upkeep"):
                scheduler.modify_job(name, next_run_time=datetime.now(UTC))

        self._on_held = at_once
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        scheduler.start()
        log.info(
            "worker %s started: poll every %g s, score every %g s",
            self.holder,
            p.poll_every_s,
            p.score_every_s,
        )
        try:
            stop.wait()
        finally:
            scheduler.shutdown(wait=True)
            self.release()
            log.info("worker %s stopped", self.holder)

    def _guarded(self, job: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            try:
                job()
            except DataError as err:
                log.warning("%s", err)

        return run

    def _working(self, job: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            if self.held.is_set():
                self._guarded(job)()

        return run
