"""The task every fleet runner maps: a batch of meters, each scored by the per-meter function.

``score_batch(items, settings)`` runs :func:`~core.fleet.portfolio.score_meter` on each meter of a
batch and returns one :class:`Outcome` per meter; a meter that fails becomes an outcome with its
one-line ``error`` (``one_line``) and the others go on. ``runner`` (the loop) and ``cluster`` (Dask)
both map it, so the runner never changes a result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from core.errors import DataError
from core.fleet.portfolio import FleetSettings, MeterResult, score_meter
from core.fleet.sources import MeterItem

BATCH_SIZE = 4  # meters per task: ~1 s of work for a meter-year each, far above Dask's ~1 ms a task

Progress = Callable[[int, "int | None", "Outcome"], None]


@dataclass(frozen=True)
class Outcome:
    """One meter's result: ``result`` when it was scored, else ``error`` (one line)."""

    name: str
    result: MeterResult | None
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.result is not None


def one_line(err: BaseException) -> str:
    """What went wrong in one line: a DataError's own text, else the type and its first line."""
    text = (str(err).strip().splitlines() or [""])[0][:300]
    if isinstance(err, DataError):
        return text
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def score_item(item: MeterItem, settings: FleetSettings) -> Outcome:
    """Load and score one meter; any failure becomes the outcome's one-line ``error``."""
    start = time.perf_counter()
    name = getattr(item, "name", "?")
    try:
        result = score_meter(item.load(), settings)
    except Exception as err:  # one bad meter never stops a fleet: reported, the rest go on
        return Outcome(name, None, one_line(err), time.perf_counter() - start)
    return Outcome(name, result, None, time.perf_counter() - start)


def score_batch(items: list[MeterItem], settings: FleetSettings) -> list[Outcome]:
    """The task every runner maps: a few meters, scored one after another."""
    return [score_item(item, settings) for item in items]


def batches(items: Iterable[MeterItem], size: int) -> Iterator[list[MeterItem]]:
    """``items`` in lists of ``size`` (the last one shorter), pulled only when asked for."""
    if size < 1:
        raise DataError(f"a batch holds at least one meter, got {size}.")
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch
