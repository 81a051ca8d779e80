"""Map the per-meter function over a fleet: in this process, or on Dask, streaming either way.

``score_fleet(items, settings, runner=...)`` yields one :class:`Outcome` per meter as soon as it is
scored (completion order on Dask), so a caller writes rows while the rest run and never holds the
fleet. Every runner maps the same :func:`score_batch` (:func:`~core.fleet.portfolio.score_meter`
on each meter of a batch), so the runner never changes a result.

==========  ==============================================================================
runner      where the meters are scored
==========  ==============================================================================
``dask``    batches of meters as Dask tasks (``core.fleet.cluster``): a ``LocalCluster`` of
            one single-threaded worker process per core, or the cluster at ``scheduler``
            (``--scheduler``, else ``WATTSUP_DASK_SCHEDULER=tcp://host:8786``)
``local``   a plain loop in this process: tiny fleets, tests, benchmarks
==========  ==============================================================================

A meter that fails (unreadable, too short, any error in detection) comes back as an ``Outcome``
with ``error`` set to one line, and the others go on. ``progress(done, total, outcome)`` is called
after each meter (``total`` None when the source does not know its size).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable, Iterator

from core.errors import DataError
from core.fleet.batch import (
    BATCH_SIZE,
    Outcome,
    Progress,
    batches,
    one_line,
    score_batch,
    score_item,
)
from core.fleet.portfolio import FleetSettings
from core.fleet.sources import MeterItem

__all__ = [
    "BATCH_SIZE",
    "RUNNERS",
    "SCHEDULER_VAR",
    "Outcome",
    "Progress",
    "batches",
    "one_line",
    "scheduler_address",
    "score_batch",
    "score_fleet",
    "score_item",
]

RUNNERS = ("dask", "local")
SCHEDULER_VAR = "WATTSUP_DASK_SCHEDULER"


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The Dask scheduler to use: ``scheduler``, else ``WATTSUP_DASK_SCHEDULER``, else None (local)."""
    address = (scheduler or os.environ.get(SCHEDULER_VAR, "")).strip()
    return address or None


def score_fleet(
    items: Iterable[MeterItem],
    settings: FleetSettings = FleetSettings(),
    *,
    runner: str = "dask",
    scheduler: str | None = None,
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    in_flight: int | None = None,
    total: int | None = None,
    progress: Progress | None = None,
) -> Iterator[Outcome]:
    """Score every meter of ``items``; yields each meter's :class:`Outcome` as it is done.

    Parameters
    ----------
    runner
        ``dask`` (default) or ``local`` (see the module docstring).
    scheduler
        a Dask scheduler address (``tcp://host:8786``); default ``WATTSUP_DASK_SCHEDULER``, else a
        ``LocalCluster`` of ``workers`` processes (default: one per core).
    batch_size, in_flight
        meters per task, and tasks submitted and not yet back (default twice the workers): at most
        ``batch_size x in_flight`` meters are read ahead of their results.
    total, progress
        the fleet's size when known, and ``progress(done, total, outcome)`` after each meter.
    """
    if runner not in RUNNERS:
        raise DataError(f"runner must be one of {', '.join(RUNNERS)}, got {runner!r}.")
    if batch_size < 1:
        raise DataError(f"a batch holds at least one meter, got {batch_size}.")
    groups = batches(items, batch_size)
    if runner == "local":
        stream: Generator[Outcome, None, None] = (
            o for batch in groups for o in score_batch(batch, settings)
        )
    else:
        # imported on first use: the page reads portfolios without paying for Dask's import
        from core.fleet import cluster

        stream = cluster.run_on_dask(
            groups,
            settings,
            scheduler=scheduler_address(scheduler),
            workers=workers,
            in_flight=in_flight,
        )
    try:
        for done, outcome in enumerate(stream, start=1):
            if progress is not None:
                progress(done, total, outcome)
            yield outcome
    finally:
        stream.close()  # a caller that stops early stops the cluster now, not at garbage collection
