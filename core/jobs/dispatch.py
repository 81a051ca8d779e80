"""The seam between scoring and the alerts: ``Dispatch`` takes one meter's scored events.

``alerts_dispatch()`` is the one the worker uses: it calls ``core.alerts.dispatch.process`` (rules,
silences, grouping, channels and the notification log; idempotent by fingerprint = meter + event)
once per meter after each scoring pass, also when the pass found no events (that is how an alert
that was open is seen to have ended). Tests and benchmarks pass their own ``Dispatch``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import pandas as pd

from core.store.db import Store
from core.store.jobs import MeterJob
from core.store.meters import SqlMeterRepository

log = logging.getLogger("wattsup.worker")


@dataclass(frozen=True)
class MeterEvents:
    """One meter's events from one scoring pass.

    ``events``: the columns of ``core.detect.events.find_events`` (or a stored run's), with ``open``
    (True: still open at ``newest``, the newest reading scored); ``run_id``: the recorded run.
    """

    store: Store
    job: MeterJob
    run_id: int
    events: pd.DataFrame
    newest: pd.Timestamp
    now: datetime
    energy_unit: str | None


class Dispatch(Protocol):
    def __call__(self, batch: MeterEvents) -> Any: ...


def alerts_dispatch(*, send: bool = True) -> Dispatch:
    """Hand each batch to ``core.alerts.dispatch.process`` (with ``send=False``: decide and log)."""
    from core.alerts.dispatch import process

    def dispatch(batch: MeterEvents) -> Any:
        repo = SqlMeterRepository(batch.store)
        with batch.store.reading() as conn:
            meter = repo.find_in(conn, batch.job.name, batch.job.owner)
        report = process(
            batch.store,
            meter,
            batch.events,
            batch.newest,
            batch.now,
            send=send,
            energy_unit=batch.energy_unit,
        )
        counts = report.to_dict() if hasattr(report, "to_dict") else report
        if isinstance(counts, dict):
            counts = {k: v for k, v in counts.items() if k != "notifications" and v}
        log.info(
            "meter %s: %d events handed to the alerts %s", batch.job.name, len(batch.events), counts
        )
        return report

    return dispatch


def no_dispatch(batch: MeterEvents) -> None:
    """Score and record only (``python -m core worker --no-alerts``)."""
    return None
