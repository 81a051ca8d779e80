"""One fleet run, end to end: a source through a runner into the store and CSV files, streaming.

``run_fleet(source, settings, ...)`` is what ``python -m core fleet score`` and the Portfolio page's
"Score all saved meters" call: it records a run (``core.store.fleet``), scores the meters
(``core.fleet.runner.score_fleet``), writes each meter's row as it comes back (to the store every
``flush`` meters, to ``portfolio.csv`` and ``events.csv`` at once) and returns a
:class:`FleetSummary`. Nothing but the summary's counts, the few largest wasters and the failures
(the first ``MAX_FAILURES``) is kept, so memory does not grow with the fleet.
"""

from __future__ import annotations

import csv
import heapq
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from core.fleet.portfolio import COLUMNS, FleetSettings, cost
from core.fleet.runner import Outcome, Progress, score_fleet
from core.fleet.sources import Source
from core.store.fleet import SqlFleetRepository

FLUSH = 16  # rows written to the store per transaction: ~16 s of scoring on 2 cores
MAX_FAILURES = 100  # failures kept in the summary (all are counted, and stored with their reason)
TOP = 5  # the largest wasters the summary names
PORTFOLIO_COLUMNS = (*COLUMNS, "cost", "error", "seconds")
EVENT_COLUMNS = (
    "meter",
    "start",
    "end",
    "duration_h",
    "type",
    "peak_score",
    "excess",
    "energy_unit",
    "cause",
)


@dataclass
class FleetSummary:
    """What a fleet run did: counts, the largest wasters, the failures, the time it took."""

    source: str
    run_id: int | None = None
    scored: int = 0
    failed: int = 0
    events: int = 0
    excess_over_kwh: float = 0.0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    top: list[tuple[float, str]] = field(default_factory=list)  # (excess over kWh, meter)

    @property
    def meters(self) -> int:
        return self.scored + self.failed

    def add(self, outcome: Outcome) -> None:
        if outcome.result is None:
            self.failed += 1
            if len(self.failures) < MAX_FAILURES:
                self.failures.append((outcome.name, outcome.error or "failed"))
            return
        row = outcome.result.row
        self.scored += 1
        self.events += row.events
        if math.isfinite(row.excess_over_kwh):
            self.excess_over_kwh += row.excess_over_kwh
            heapq.heappush(self.top, (row.excess_over_kwh, row.meter))
            if len(self.top) > TOP:
                heapq.heappop(self.top)

    def wasters(self) -> list[tuple[str, float]]:
        """The meters with the most over-use, largest first."""
        return [(m, kwh) for kwh, m in sorted(self.top, reverse=True)]

    def lines(self, tariff: float | None = None) -> list[str]:
        """The summary a person reads after a run."""
        rate = self.meters / self.seconds if self.seconds > 0 else 0.0
        out = [
            f"scored {self.scored} of {self.meters} meters from {self.source} in "
            f"{self.seconds:.1f} s ({rate:.2f} meters/s); {self.events} events, "
            f"{self.excess_over_kwh:,.0f} kWh over-use"
            + (
                f" (cost {cost(self.excess_over_kwh, tariff):,.2f} at {tariff:g}/kWh)"
                if tariff
                else ""
            )
        ]
        if self.wasters():
            out.append(
                "largest over-use: " + ", ".join(f"{m} {kwh:,.0f} kWh" for m, kwh in self.wasters())
            )
        for name, reason in self.failures[:10]:
            out.append(f"failed: {name}: {reason}")
        if self.failed > 10:
            out.append(f"... and {self.failed - 10} more failed (see the portfolio's error column)")
        return out


def outcome_row(outcome: Outcome) -> dict[str, Any]:
    """A meter's row as the store and the CSV take it (figures empty and ``error`` set on failure)."""
    base: dict[str, Any] = dict.fromkeys(COLUMNS)
    if outcome.result is not None:
        base.update(outcome.result.row.to_dict())
    base.update(meter=outcome.name, error=outcome.error, seconds=round(outcome.seconds, 3))
    return base


def run_fleet(
    source: Source,
    settings: FleetSettings = FleetSettings(),
    *,
    repo: SqlFleetRepository | None = None,
    owner: str | None = None,
    runner: str = "dask",
    scheduler: str | None = None,
    workers: int | None = None,
    batch_size: int | None = None,
    out: str | Path | None = None,
    events_out: str | Path | None = None,
    tariff: float | None = None,
    progress: Progress | None = None,
    flush: int = FLUSH,
    escape: Callable[[Any], Any] | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> FleetSummary:
    """Score ``source`` and write every meter's row to ``repo`` (a new run), ``out`` and
    ``events_out`` (CSV) as it comes back; ``tariff`` (per kWh) adds the ``cost`` column.
    ``escape`` is applied to every CSV cell (the command line passes
    ``core.charts.report.escape_cell``, so a meter named ``=cmd`` never runs in a spreadsheet).
    ``on_row(row)`` gets each meter's ``outcome_row`` as it comes back (the Upload page keeps an
    upload's rows in memory this way, storing nothing)."""
    summary = FleetSummary(source.description)
    run = (
        repo.start(source.description, runner=runner, settings=settings.to_dict(), owner=owner)
        if repo
        else None
    )
    summary.run_id = None if run is None else run.id
    start = time.perf_counter()
    pending: list[dict[str, Any]] = []
    extra = {} if batch_size is None else {"batch_size": batch_size}
    with _csv(out, PORTFOLIO_COLUMNS) as rows_csv, _csv(events_out, EVENT_COLUMNS) as events_csv:
        for outcome in score_fleet(
            source.items,
            settings,
            runner=runner,
            scheduler=scheduler,
            workers=workers,
            total=source.total,
            progress=progress,
            **extra,
        ):
            summary.add(outcome)
            row = outcome_row(outcome)
            if on_row is not None:
                on_row(row)
            if rows_csv is not None:
                rows_csv.writerow(_escaped(_csv_row(row, tariff), escape))
            if events_csv is not None and outcome.result is not None:
                for event in _event_rows(outcome):
                    events_csv.writerow(_escaped(event, escape))
            if run is not None:
                pending.append(row)
                if len(pending) >= flush:
                    repo.add_rows(run.id, pending, owner=owner)
                    pending = []
        if run is not None:
            repo.add_rows(run.id, pending, owner=owner)
            repo.finish(run.id, owner=owner)
    summary.seconds = time.perf_counter() - start
    return summary


class _csv:
    """A CSV writer with its header on ``path`` (nothing when None), closed after the block."""

    def __init__(self, path: str | Path | None, columns: tuple[str, ...]) -> None:
        self.path, self.columns = path, columns
        self.file: IO[str] | None = None

    def __enter__(self) -> csv.DictWriter | None:
        if self.path is None:
            return None
        self.file = Path(self.path).open("w", newline="", encoding="utf-8")
        writer = csv.DictWriter(self.file, fieldnames=list(self.columns), extrasaction="ignore")
        writer.writeheader()
        return writer

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()


def _csv_row(row: dict[str, Any], tariff: float | None) -> dict[str, Any]:
    out = {k: _cell(v) for k, v in row.items()}
    if tariff is not None and row.get("excess_over_kwh") is not None:
        out["cost"] = round(cost(row["excess_over_kwh"], tariff), 2)
    if row.get("sparkline") is not None:
        out["sparkline"] = json.dumps([None if math.isnan(v) else v for v in row["sparkline"]])
    return out


def _escaped(row: dict[str, Any], escape: Callable[[Any], Any] | None) -> dict[str, Any]:
    return row if escape is None else {k: escape(v) for k, v in row.items()}


def _event_rows(outcome: Outcome) -> list[dict[str, Any]]:
    result = outcome.result
    assert result is not None
    return [
        {
            "meter": outcome.name,
            "energy_unit": result.energy_unit,
            **{k: _cell(v) for k, v in e.items()},
        }
        for e in result.events.to_dict("records")
    ]


def _cell(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return ""
    return value
