"""The Dask side of the fleet runner: which cluster, and batches streamed through it.

The only module of the project that imports ``dask.distributed``. ``run_on_dask`` scatters batches
of meters to the workers and submits ``core.fleet.runner.score_batch`` on each, with at most
``in_flight`` of them submitted and not back yet, takes each back as it completes
(``distributed.as_completed``), releases it, and submits the next: the driver holds a few batches,
the workers one each, whatever the fleet's size. A batch
whose worker died or whose task could not run reports each of its meters as failed, with the reason,
and the rest go on.

Without a scheduler address a ``LocalCluster`` is started for the run and closed after it: one
worker process per core (``processes=True``, ``threads_per_worker=1``: scikit-learn and pandas
hold the GIL for much of a fit), no dashboard, quiet logs, and without Dask's
``MALLOC_TRIM_THRESHOLD_=65536`` for the workers: setting it switches off glibc's adaptive mmap
threshold, so every large pandas / numpy buffer is a fresh mmap and its pages fault in again
(measured on the LEAD buildings: 4x the page faults, 0.31 -> 0.33-0.35 CPU-s per meter-year),
without the workers' statistical profiler (it samples every thread's stack every 10 ms for a
dashboard the local cluster does not start), and with its monitors polling less often (``QUIET``:
the event-loop tick, the system monitor, the workers' memory monitor, work stealing): an idle
two-worker cluster then costs 0.018 CPU-s per second instead of 0.10, which on 2 cores is time
taken from scoring.
With an address the run connects to that cluster (its workers must import this project's
``core``), keeps its own settings and leaves it running.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator, Iterator
from contextlib import contextmanager

import dask
from distributed import Client, LocalCluster, as_completed

from core.errors import DataError
from core.fleet.batch import Outcome, one_line, score_batch
from core.fleet.portfolio import FleetSettings
from core.fleet.sources import MeterItem
from core.processes import spawn_safe_main

TRIM_VAR = "MALLOC_TRIM_THRESHOLD_"  # see the module docstring
PROFILER = "distributed.worker.profile.enabled"  # off for local workers: see the module docstring
# local clusters only; Dask's defaults are 20 ms, 500 ms, 100 ms and 100 ms (see the module docstring)
QUIET = {
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing-interval": "500ms",
}
CONNECT_TIMEOUT_S = 10  # a scheduler that does not answer in this long is reported, not waited on


def machine_workers() -> int:
    """Worker processes for a local cluster: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def _environ_without(name: str) -> Iterator[None]:
    """``name`` out of this process's environment while local workers are spawned (they inherit
    it), then back as it was."""
    saved = os.environ.pop(name, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[name] = saved


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A client on the cluster at ``scheduler``, else on a ``LocalCluster`` started for the block."""
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as err:
            raise DataError(
                f"cannot reach the Dask scheduler at {scheduler} ({one_line(err)}): start it "
                "(dask scheduler) or fix --scheduler / WATTSUP_DASK_SCHEDULER."
            ) from err
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except TimeoutError as err:
            client.close()
            raise DataError(
                f"the Dask scheduler at {scheduler} has no workers: start one "
                f"(dask worker {scheduler})."
            ) from err
        try:
            yield client
        finally:
            client.close()
        return
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop(TRIM_VAR, None)
    with (
        spawn_safe_main(),
        dask.config.set({"distributed.nanny.pre-spawn-environ": environ, PROFILER: False, **QUIET}),
        _environ_without(TRIM_VAR),
    ):
        cluster = LocalCluster(
            n_workers=workers or machine_workers(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # CRITICAL, not ERROR: a worker whose heartbeat meets the scheduler already closed at
            # the end of a run logs a traceback at ERROR; failures reach the run through its
            # futures (each meter's one-line reason), never through these logs
            silence_logs=logging.CRITICAL,
        )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def run_on_dask(
    groups: Iterator[list[MeterItem]],
    settings: FleetSettings,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    in_flight: int | None = None,
) -> Generator[Outcome, None, None]:
    """Each meter's outcome, batches scored on Dask as they complete (see the module docstring)."""
    with dask_client(scheduler, workers) as client:
        slots = in_flight or 2 * max(1, sum(client.nthreads().values()))
        pending = as_completed()
        names: dict[str, list[str]] = {}

        def submit_next() -> None:
            batch = next(groups, None)
            if batch is not None:
                # scattered, not passed inside the task: a task's own arguments stayed in this
                # process (client and scheduler) after it ran, every meter's readings for the
                # whole run (measured: +0.28 MB a meter-year, 1.8 GB at 5,000); a scattered batch
                # is freed once its task is done
                [data] = client.scatter([batch], hash=False)
                future = client.submit(score_batch, data, settings, pure=False)
                names[future.key] = [item.name for item in batch]
                pending.add(future)

        for _ in range(slots):
            submit_next()
        for future in pending:
            try:
                outcomes = future.result()
            except Exception as err:  # the worker died or the task could not run: name the meters
                reason = f"the Dask task failed: {one_line(err)}"
                outcomes = [Outcome(n, None, reason, 0.0) for n in names[future.key]]
            names.pop(future.key, None)
            future.release()
            submit_next()  # before yielding: the cluster keeps working while the caller writes
            yield from outcomes
