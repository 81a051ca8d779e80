"""A stored meter's readings as the detection run's input, and its fitted model in the registry.

One path, shared by the API's detections on stored meters (``core.api.stored``) and the worker
(``core.jobs``), so both lay readings on the same grid, key models by the same digest and register
them the same way:

* ``meter_head``: the meter with its first / last reading's times (two index probes);
* ``gridded``: readings on the meter's step, missing steps NaN (as an upload's are);
* ``readings_digest``: sha256 of the name and the readings: the model cache's key;
* ``meter_series``: the three above for ``start <= t < end``, as a ``Series``;
* ``registered_model``: the registry id of the model ``fit_detector`` saved for a series
  (registered on first sight, under the digest key or a key the caller names).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select

from core.detect.pipeline import MODELS_DIR, DetectorSettings, model_dir, saved_meta
from core.errors import DataError
from core.ingest.cleaning import MAX_GRID_FACTOR
from core.ingest.columns import DEFAULT_UNIT
from core.ingest.data import MIN_POINTS
from core.ingest.quality import infer_step, step_label
from core.store.db import Store
from core.store.meters import SqlMeterRepository
from core.store.readings import from_us, stored_span
from core.store.records import Meter
from core.store.runs import latest_model, register_model
from core.store.schema import models
from core.store.versions import library_versions


@dataclasses.dataclass(frozen=True)
class Series:
    """A meter's readings on its grid, ready for a detector."""

    meter: Meter
    frame: pd.DataFrame
    step: pd.Timedelta
    unit: str
    digest: str


def meter_head(repo: SqlMeterRepository, name: str, owner: str | None) -> Meter:
    """The meter with its first and last reading's times (two index probes), without the reading
    count ``get`` adds up: what a push needs, in well under a millisecond."""
    with repo.store.reading() as conn:
        meter = repo.find_in(conn, name, owner)
        span = stored_span(conn, meter.id)
    if span is None:
        return meter
    return dataclasses.replace(
        meter, first=from_us(span[0], meter.timezone), last=from_us(span[1], meter.timezone)
    )


def gridded(
    frame: pd.DataFrame,
    step: pd.Timedelta | None,
    what: str,
    *,
    max_grid_factor: int = MAX_GRID_FACTOR,
) -> tuple[pd.DataFrame, pd.Timedelta]:
    """``frame`` on a regular grid of ``step`` (inferred when None); missing steps are NaN."""
    if len(frame) < MIN_POINTS:
        raise DataError(
            f"{what} has {len(frame)} readings; detection needs at least {MIN_POINTS}: "
            "push more readings or widen start / end."
        )
    step = step or infer_step(frame.index.asi8)
    if step is None:
        raise DataError(f"{what}: every reading has the same time; push readings over time.")
    grid = pd.date_range(frame.index[0], frame.index[-1], freq=step, name="timestamp", unit="ns")
    if len(grid) > max_grid_factor * len(frame):
        raise DataError(
            f"{what}: {len(frame)} readings spread over {len(grid):,} steps of {step_label(step)} "
            "are mostly missing: narrow start / end to where readings are."
        )
    return frame.reindex(grid), step


def readings_digest(name: str, frame: pd.DataFrame) -> str:
    """sha256 of a meter's name and readings (times, columns, values): keys its cached models."""
    h = hashlib.sha256(f"meter:{name}:{','.join(map(str, frame.columns))}".encode())
    h.update(np.ascontiguousarray(frame.index.asi8).tobytes())
    h.update(str(frame.index.tz).encode())
    for col in frame.columns:
        h.update(np.ascontiguousarray(frame[col].to_numpy(dtype=float)).tobytes())
    return h.hexdigest()


def meter_series(
    repo: SqlMeterRepository,
    name: str,
    *,
    owner: str | None,
    start=None,
    end=None,
    max_grid_factor: int = MAX_GRID_FACTOR,
) -> Series:
    """The meter's readings in ``[start, end)`` on its grid."""
    meter = meter_head(repo, name, owner)
    frame = repo.load(name, owner=owner, start=start, end=end)
    frame, step = gridded(frame, meter.step, f"meter {name!r}", max_grid_factor=max_grid_factor)
    return Series(meter, frame, step, meter.unit or DEFAULT_UNIT, readings_digest(name, frame))


def model_key(series: Series, settings: DetectorSettings) -> str:
    """The registry key of the model fitted on ``series``: digest prefix / model folder."""
    return f"{series.digest[:16]}/{model_dir(series.digest, settings).name}"


def registered_model(
    store: Store,
    series: Series,
    settings: DetectorSettings,
    *,
    key: str | None = None,
    root: str | Path | None = None,
) -> int | None:
    """The registry id of the model saved for (series, settings), registered now if it was just
    fitted; None when nothing was saved (a fit whose save failed). With ``key`` (a lineage such as
    the worker's per-meter key) each new fit is the next version of that key; ``root`` is the
    model cache it was saved in (default ``pipeline.MODELS_DIR``)."""
    root = MODELS_DIR if root is None else root
    folder = model_dir(series.digest, settings, root)
    key = key or model_key(series, settings)
    found = latest_model(store, key)
    if not saved_meta(series.digest, settings, root=root):
        return found
    if found is not None and _artefact(store, found) == str(folder):
        return found
    model_id, _ = register_model(
        store,
        detector=settings.detector,
        settings={"detector": settings.detector, "params": settings.kwargs()},
        key=key,
        artefact_path=str(folder),
        library_versions=library_versions(),
        trained_from=series.frame.index[0],
        trained_to=series.frame.index[-1],
        meter=series.meter.name if series.meter.owner is None else None,
    )
    return model_id


def _artefact(store: Store, model_id: int) -> str | None:
    with store.reading() as conn:
        return conn.scalar(select(models.c.artefact_path).where(models.c.id == model_id))
