"""A scoring pass over many meters in several processes (``python -m core worker --processes N``).

Scoring a meter is one process's work for ~0.2 s (most of it loading its model from the model
cache), and meters are independent: a pass over a thousand meters splits them round-robin over N
child processes, each with its own connection to the same database. The parent keeps the lease
(renewed by its heartbeat thread) and waits; children never take it. What a child hands to the
alerts is as idempotent as in one process (the notification log's claim is a unique key), so a
child of a worker that lost its lease cannot send a notification twice either.

Children are started with ``spawn`` (the parent has threads: forking them is unsafe) and rebuild
the dispatch by name (``alerts`` or ``none``): a closure cannot cross a process boundary.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from core.errors import DataError
from core.jobs.policy import JobPolicy
from core.jobs.scoring import ModelCache, Scored, score_meter
from core.processes import spawn_safe_main
from core.store.db import Store, open_store
from core.store.jobs import SqlJobRepository, utcnow


@dataclass(frozen=True)
class Share:
    """One child's part of a pass: which meters, on which database, with what."""

    url: str
    home: str
    ids: tuple[int, ...]
    policy: JobPolicy
    dispatch: str  # "alerts" | "none"
    models_dir: str | None


@dataclass
class ShareResult:
    scored: list[Scored] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def score_in_processes(
    store: Store,
    ids: list[int],
    policy: JobPolicy,
    *,
    processes: int,
    dispatch: str,
    models_dir: Path | None,
) -> ShareResult:
    """Score ``ids`` split over ``processes`` children; their results together."""
    url = store.engine.url.render_as_string(hide_password=False)
    shares = [
        Share(
            url,
            str(store.home),
            tuple(ids[i::processes]),
            policy,
            dispatch,
            None if models_dir is None else str(models_dir),
        )
        for i in range(processes)
    ]
    out = ShareResult()
    # spawned children must never re-run a Streamlit page script that is the parent's __main__
    with (
        spawn_safe_main(),
        ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool,
    ):
        for part in pool.map(_score_share, [s for s in shares if s.ids]):
            out.scored += part.scored
            out.errors.update(part.errors)
    return out


def _score_share(share: Share) -> ShareResult:
    from core.jobs.dispatch import alerts_dispatch, no_dispatch

    dispatch = alerts_dispatch() if share.dispatch == "alerts" else no_dispatch
    store = open_store(share.url, home=Path(share.home))
    models = ModelCache(1, None if share.models_dir is None else Path(share.models_dir))
    out = ShareResult()
    try:
        for job in SqlJobRepository(store).meters(list(share.ids)):
            try:
                out.scored.append(score_meter(store, job, share.policy, dispatch, utcnow(), models))
            except DataError as err:
                out.errors[job.name] = str(err)
            except Exception as err:  # one meter's bug must not stop the others
                out.errors[job.name] = f"{type(err).__name__}: {err}"
            if job.name in out.errors:
                with suppress(DataError):
                    SqlJobRepository(store).update(job.meter_id, error=out.errors[job.name][:2000])
    finally:
        store.close()
    return out
