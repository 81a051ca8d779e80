"""Retrain a stored meter's learned detector from its labels, keep every version, roll back.

``retrain_meter`` lays the meter's readings on its grid (``core.detect.meters.meter_series``), turns
its labels into feedback, refuses with what is missing when they are not enough, fits the learned
detector (``fit_detector`` with the labels: cached under the data + labels digest), measures it on
the labels (``core.labels.metrics``), copies the model into the store's home
(``<home>/model_versions/<meter id>/``: outside the model cache, whose trim would delete it; old
versions are kept until deleted), registers that folder in the registry (training period,
settings, library versions) and records it as the meter's next version, now current
(``core.store.model_versions``). ``version_metrics`` scores any kept version on today's labels, so the page
compares the current and the previous one; ``SqlModelVersionRepository.rollback`` goes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.detect.detectors import REGISTRY
from core.detect.detectors.learned import label_shortfall
from core.detect.meters import meter_series
from core.detect.pipeline import (
    MODELS_DIR,
    DetectorSettings,
    fit_detector,
    labelled_digest,
    model_dir,
)
from core.detect.run import run_detection
from core.detect.thresholds import ThresholdSettings
from core.errors import DataError
from core.labels.feedback import feedback_series
from core.labels.metrics import label_metrics
from core.store.db import Store
from core.store.labels import SqlLabelRepository
from core.store.meters import SqlMeterRepository
from core.store.model_files import StoreError, load_detector, read_meta, save_detector
from core.store.model_versions import ModelVersion, SqlModelVersionRepository
from core.store.runs import register_model
from core.store.versions import library_versions


@dataclass(frozen=True)
class Retrained:
    """The new version and what it measured on the labels."""

    version: ModelVersion
    metrics: dict[str, Any]


def retrain_meter(
    store: Store,
    meter: str,
    *,
    owner: str | None = None,
    settings: DetectorSettings | None = None,
    threshold: ThresholdSettings | None = None,
    root: str | Path = MODELS_DIR,
    note: str | None = None,
) -> Retrained:
    """A new version of ``meter``'s learned model; a DataError saying what is missing when the
    labels are not enough (nothing is written then)."""
    settings = settings or DetectorSettings("learned")
    threshold = threshold or ThresholdSettings()
    series = meter_series(SqlMeterRepository(store), meter, owner=owner)
    repo = SqlLabelRepository(store)
    labels = repo.list(meter, owner=owner)
    y = feedback_series(series.frame.index, labels)
    params = settings.kwargs()
    shortfall = label_shortfall(y, params.get("min_confirmed", 3), params.get("min_dismissed", 2))
    if shortfall:
        raise DataError(f"cannot retrain meter {meter}: {shortfall}. Label more events first.")
    det = fit_detector(series.frame, series.digest, settings, labels=y, root=root)
    detection = run_detection(
        series.frame, settings, threshold, freq=series.step, unit=series.unit, detector=det
    )
    metrics = label_metrics(labels, detection.scored, detection.flags)
    digest = labelled_digest(series.digest, y)
    cached = model_dir(digest, settings, root)
    folder = version_dir(store, series.meter.id, digest, cached.name)
    try:
        save_detector(det, folder, read_meta(cached) or {"digest": digest})
    except (StoreError, OSError) as err:
        raise DataError(f"cannot keep the new version of meter {meter} in {folder}: {err}") from err
    index = series.frame.index
    model_id, _ = register_model(
        store,
        detector=settings.detector,
        settings={"detector": settings.detector, "params": params, "threshold": threshold.k},
        key=f"labels/{series.meter.id}/{settings.detector}",
        artefact_path=str(folder),
        library_versions=library_versions(),
        trained_from=index[0],
        trained_to=index[-1],
    )
    versions = SqlModelVersionRepository(store)
    versions.add_version(
        meter, model_id, labels_used=len(labels), metrics=metrics, note=note, owner=owner
    )
    return Retrained(versions.current(meter, owner=owner), metrics)  # type: ignore[arg-type]


VERSIONS_FOLDER = "model_versions"  # under the store's home: never trimmed like the model cache


def version_dir(store: Store, meter_id: int, digest: str, name: str) -> Path:
    """Where a version of meter ``meter_id`` trained on data + labels ``digest`` is kept."""
    return Path(store.home) / VERSIONS_FOLDER / str(meter_id) / f"{digest[:16]}-{name}"


def version_metrics(
    store: Store,
    meter: str,
    version: ModelVersion,
    *,
    owner: str | None = None,
    threshold: ThresholdSettings | None = None,
) -> dict[str, Any]:
    """``version``'s metrics on the meter's labels as they are now (its saved model, rescored)."""
    threshold = threshold or ThresholdSettings()
    series = meter_series(SqlMeterRepository(store), meter, owner=owner)
    labels = SqlLabelRepository(store).list(meter, owner=owner)
    try:
        det = load_detector(version.artefact_path, REGISTRY)
    except Exception as err:  # noqa: BLE001 - any unreadable folder is one message
        raise DataError(f"version {version.version} of {meter} cannot be loaded: {err}") from err
    settings = DetectorSettings(version.detector)
    detection = run_detection(
        series.frame, settings, threshold, freq=series.step, unit=series.unit, detector=det
    )
    return label_metrics(labels, detection.scored, detection.flags)
