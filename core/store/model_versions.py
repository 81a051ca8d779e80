"""Model versions per stored meter: which models a meter's labels trained, and which one is current.

``SqlModelVersionRepository`` (tables ``model_versions`` and ``current_models``, 0005_labels):
``add_version`` records a model already in the registry (``runs.register_model``: training period,
settings, library versions, folder) as the meter's next version, with its metrics on the labels, and
makes it current; ``versions`` lists them newest first; ``current_entry`` answers the current one in
one read; ``rollback`` makes an older one current. Old
versions are kept until deleted. Every call takes ``owner`` and sees only that owner's meters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from core.errors import DataError
from core.store import readings as rd
from core.store.db import NotFoundError, Store
from core.store.labels import _plain
from core.store.meters import Meter, SqlMeterRepository
from core.store.schema import current_models, model_versions, models


@dataclass(frozen=True)
class ModelVersion:
    """One version of a meter's model: the registry row's facts plus the metrics on the labels."""

    model_id: int
    meter: str
    version: int
    detector: str
    settings: dict[str, Any]
    trained_from: pd.Timestamp | None
    trained_to: pd.Timestamp | None
    library_versions: dict[str, Any]
    artefact_path: str
    labels_used: int
    metrics: dict[str, Any]
    note: str | None
    created: datetime
    current: bool


@dataclass(frozen=True)
class CurrentEntry:
    """Which model a meter's detection uses: registry id, detector, folder and version number."""

    model_id: int
    detector: str
    artefact_path: str
    version: int


class SqlModelVersionRepository:
    """Model versions of stored meters over a :class:`~core.store.db.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._meters = SqlMeterRepository(store)

    def add_version(
        self,
        meter: str,
        model_id: int,
        *,
        labels_used: int,
        metrics: Mapping[str, Any],
        note: str | None = None,
        owner: str | None = None,
    ) -> int:
        """Record registry model ``model_id`` as the meter's next version and make it current."""
        with self.store.writing() as conn:
            m = self._meters.find_in(conn, meter, owner)
            version = 1 + (
                conn.scalar(
                    select(func.max(model_versions.c.version)).where(
                        model_versions.c.meter_id == m.id
                    )
                )
                or 0
            )
            conn.execute(
                model_versions.insert().values(
                    model_id=model_id,
                    meter_id=m.id,
                    version=version,
                    labels_used=int(labels_used),
                    metrics=_plain(dict(metrics)),
                    note=note,
                )
            )
            _set_current(conn, m.id, model_id)
        return version

    def versions(self, meter: str, *, owner: str | None = None) -> list[ModelVersion]:
        """The meter's model versions, newest first."""
        with self.store.reading() as conn:
            m = self._meters.find_in(conn, meter, owner)
            current = conn.scalar(
                select(current_models.c.model_id).where(current_models.c.meter_id == m.id)
            )
            v, g = model_versions.c, models.c
            rows = (
                conn.execute(
                    select(
                        v.model_id,
                        v.version,
                        v.labels_used,
                        v.metrics,
                        v.note,
                        v.created,
                        g.detector,
                        g.settings,
                        g.trained_from,
                        g.trained_to,
                        g.library_versions,
                        g.artefact_path,
                    )
                    .join(models, models.c.id == model_versions.c.model_id)
                    .where(model_versions.c.meter_id == m.id)
                    .order_by(model_versions.c.version.desc())
                )
                .mappings()
                .all()
            )
        return [_version(r, m, current) for r in rows]

    def current(self, meter: str, *, owner: str | None = None) -> ModelVersion | None:
        """The version the meter's detection uses, None before the first retrain."""
        return next((v for v in self.versions(meter, owner=owner) if v.current), None)

    def current_entry(self, meter: str, *, owner: str | None = None) -> CurrentEntry | None:
        """The current version's registry id, detector and folder in one indexed read (cheap
        enough to key a cache on every page run); None before the first retrain."""
        with self.store.reading() as conn:
            m = self._meters.find_in(conn, meter, owner)
            row = conn.execute(
                select(
                    models.c.id, models.c.detector, models.c.artefact_path, model_versions.c.version
                )
                .select_from(current_models)
                .join(models, models.c.id == current_models.c.model_id)
                .join(
                    model_versions,
                    (model_versions.c.model_id == current_models.c.model_id)
                    & (model_versions.c.meter_id == current_models.c.meter_id),
                )
                .where(current_models.c.meter_id == m.id)
            ).first()
        if row is None:
            return None
        return CurrentEntry(int(row[0]), row[1], row[2] or "", int(row[3]))

    def rollback(
        self, meter: str, *, to_version: int | None = None, owner: str | None = None
    ) -> ModelVersion:
        """Make ``to_version`` (default: the one before the current) current; returns it."""
        found = self.versions(meter, owner=owner)
        current = next((v for v in found if v.current), None)
        if to_version is None:
            older = [v for v in found if current is not None and v.version < current.version]
            if not older:
                raise DataError(
                    f"meter {meter} has no version before the current one to roll back to."
                )
            target = older[0]
        else:
            target = next((v for v in found if v.version == to_version), None)
            if target is None:
                have = ", ".join(str(v.version) for v in found) or "none"
                raise NotFoundError(
                    f"meter {meter} has no model version {to_version} (has {have})."
                )
        with self.store.writing() as conn:
            m = self._meters.find_in(conn, meter, owner)
            _set_current(conn, m.id, target.model_id)
        return next(v for v in self.versions(meter, owner=owner) if v.version == target.version)


def _set_current(conn: Connection, meter_id: int, model_id: int) -> None:
    conn.execute(delete(current_models).where(current_models.c.meter_id == meter_id))
    conn.execute(current_models.insert().values(meter_id=meter_id, model_id=model_id))


def _version(r, m: Meter, current: int | None) -> ModelVersion:
    created = r["created"] if r["created"].tzinfo else r["created"].replace(tzinfo=UTC)
    return ModelVersion(
        model_id=int(r["model_id"]),
        meter=m.name,
        version=int(r["version"]),
        detector=r["detector"],
        settings=dict(r["settings"] or {}),
        trained_from=rd.from_us(r["trained_from"], m.timezone),
        trained_to=rd.from_us(r["trained_to"], m.timezone),
        library_versions=dict(r["library_versions"] or {}),
        artefact_path=r["artefact_path"] or "",
        labels_used=int(r["labels_used"]),
        metrics=dict(r["metrics"] or {}),
        note=r["note"],
        created=created,
        current=current == r["model_id"],
    )
