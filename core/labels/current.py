"""The model a stored meter's detection uses: its current version, when it has one.

``current_detector(store, meter, owner, detector=...)`` loads the meter's current model version
(``core.store.model_versions``: made by a retrain, moved by a roll back) from its registry folder
and answers ``(Detector, model_id)``. It answers ``None`` when the meter has no version yet, and
when ``detector`` names another detector than the version's: an unsupervised detector never learns
from labels, so asking for one is not asking for the meter's trained model. Every detection on a
stored meter asks here first and fits as before on ``None``: the app's Anomaly detection page
(``core.ui.cache``), the API (``core.api.stored.detect_meter``) and the worker (``core.jobs``).
``current_model_id`` is the same answer without loading (cheap: one indexed read), for cache keys.

A current version whose folder cannot be loaded (trimmed from the model cache, refused by the
trust checks) is a DataError saying to retrain or roll back: detection never quietly uses another
model than the one the page names as current. Loaded versions are kept in a small LRU keyed on the
folder, so repeated detections do not reload it.
"""

from __future__ import annotations

from pathlib import Path

from core.detect.detectors import REGISTRY
from core.detect.detectors.base import Detector
from core.errors import DataError
from core.store.db import Store
from core.store.memory import BoundedLRU
from core.store.model_cache import mark_used
from core.store.model_files import load_detector
from core.store.model_versions import CurrentEntry, SqlModelVersionRepository

MAX_LOADED = 8  # current versions kept in memory per process
_loaded = BoundedLRU(MAX_LOADED)


def current_entry(
    store: Store, meter: str, owner: str | None = None, *, detector: str | None = None
) -> CurrentEntry | None:
    """The meter's current version (registry id, detector, folder), None when it has none or when
    ``detector`` is given and is not the version's detector."""
    entry = SqlModelVersionRepository(store).current_entry(meter, owner=owner)
    if entry is None or (detector is not None and detector != entry.detector):
        return None
    return entry


def current_model_id(
    store: Store, meter: str, owner: str | None = None, *, detector: str | None = None
) -> int | None:
    """The registry id of the model ``current_detector`` would load, without loading it."""
    entry = current_entry(store, meter, owner, detector=detector)
    return None if entry is None else entry.model_id


def current_detector(
    store: Store, meter: str, owner: str | None = None, *, detector: str | None = None
) -> tuple[Detector, int] | None:
    """``(fitted detector, registry model id)`` of the meter's current version, or None (see the
    module docstring); a DataError when the version's folder cannot be loaded."""
    entry = current_entry(store, meter, owner, detector=detector)
    if entry is None:
        return None
    return load_version(entry, meter), entry.model_id


def load_version(entry: CurrentEntry, meter: str) -> Detector:
    """The detector saved in ``entry``'s folder (kept in memory); a DataError when it cannot be
    loaded, or is not the detector the version names."""
    folder = Path(entry.artefact_path)

    def make() -> Detector:
        try:
            det = load_detector(folder, REGISTRY)
        except Exception as err:  # noqa: BLE001 - missing, refused or corrupt: one message
            raise DataError(
                f"model version {entry.version} of meter {meter} cannot be loaded ({err}): "
                "retrain the meter or roll back to another version."
            ) from err
        if det.name != entry.detector or not det.is_fitted:
            raise DataError(
                f"model version {entry.version} of meter {meter} is not a fitted {entry.detector}: "
                "retrain the meter or roll back to another version."
            )
        return det

    det = _loaded.get_or_make((str(folder), entry.model_id), make)
    mark_used(folder)  # the model cache trims least recently used folders first
    return det
