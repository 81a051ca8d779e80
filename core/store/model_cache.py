"""The run-time model cache on disk: what it holds, how much it may keep, and taking things out.

Models fitted on uploads are saved under the cache folder (``<root>/<digest[:16]>/<detector>-<key>/``,
see ``core.detect.pipeline``). Without limits they would stay there forever, so the cache is kept
within ``CacheLimits`` after every save (``trim``) and can be emptied by hand
(``python -m core models prune``). The limits are set in one place, the environment:

===============================  ======================  ===========================================
variable                         default                 meaning
===============================  ======================  ===========================================
``WATTSUP_MODELS_MAX_MB``        ``500``                 total size; least recently used go first
``WATTSUP_MODELS_MAX_AGE_DAYS``  ``30``                  folders not used for longer are removed
===============================  ======================  ===========================================

``off`` switches a limit off. "Used" is the folder's modification time: saving sets it and
``mark_used`` sets it again on every load. A folder that failed to load is moved into
``<root>/.quarantine/`` (``quarantine``), where nothing looks for models, and leaves with the same
limits as the others. Committed pretrained models are not a cache: nothing here is run on them.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.errors import DataError

MAX_MB_VAR = "WATTSUP_MODELS_MAX_MB"
MAX_AGE_VAR = "WATTSUP_MODELS_MAX_AGE_DAYS"
# 500 MB: a saved model is 0.1-2 MB (the committed ones), so this keeps some hundreds of them
DEFAULT_MAX_MB = 500.0
DEFAULT_MAX_AGE_DAYS = 30.0
QUARANTINE_DIR = ".quarantine"
# a ".<name>.tmp-*" folder younger than this may be a save in progress (saving takes seconds)
PARTIAL_GRACE_S = 3600.0
MB = 1024 * 1024
DAY_S = 86400.0


@dataclass(frozen=True)
class CacheLimits:
    """How much the model cache may keep: ``max_mb`` in total, folders used within ``max_age_days``.

    ``None`` switches a limit off; ``0`` keeps nothing (except the folder ``trim`` is told to keep).
    """

    max_mb: float | None = DEFAULT_MAX_MB
    max_age_days: float | None = DEFAULT_MAX_AGE_DAYS

    def __post_init__(self) -> None:
        for name in ("max_mb", "max_age_days"):
            value = getattr(self, name)
            if value is not None and not (
                isinstance(value, int | float) and math.isfinite(value) and value >= 0
            ):
                raise DataError(f"{name} must be a number >= 0 or None, got {value!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CacheLimits:
        """The limits set by ``WATTSUP_MODELS_MAX_MB`` and ``WATTSUP_MODELS_MAX_AGE_DAYS``."""
        env = os.environ if environ is None else environ
        return cls(
            max_mb=_limit(env, MAX_MB_VAR, DEFAULT_MAX_MB),
            max_age_days=_limit(env, MAX_AGE_VAR, DEFAULT_MAX_AGE_DAYS),
        )


@dataclass(frozen=True)
class CacheEntry:
    """One folder of the cache: a model, a quarantined model, or a save that never finished."""

    path: Path
    state: str  # "model", "quarantined" or "partial"
    size_bytes: int
    last_used: float  # seconds since the epoch

    @property
    def size_mb(self) -> float:
        return self.size_bytes / MB

    @property
    def detector(self) -> str:
        """The detector's name, read from the folder name (``<detector>-<key>``; a partial one is
        ``.<detector>-<key>.tmp-*``, a quarantined one ``<digest>.<detector>-<key>.<suffix>``)."""
        name = self.path.name.lstrip(".")
        if self.state == "quarantined":
            name = name.partition(".")[2]
        return name.partition("-")[0]


def cache_entries(root: str | Path) -> list[CacheEntry]:
    """Every folder in the cache ``root``, least recently used first (empty when there is none)."""
    root = Path(root)
    if not root.is_dir():
        return []
    entries = []
    for top in root.iterdir():
        if top.is_symlink() or not top.is_dir():
            continue  # a README or the like beside the models
        quarantined = top.name == QUARANTINE_DIR
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile by another session
            for item in top.iterdir():
                if quarantined:
                    state = "quarantined"
                else:
                    state = "partial" if item.name.startswith(".") else "model"
                with contextlib.suppress(FileNotFoundError):
                    entries.append(_entry(item, state))
    return sorted(entries, key=lambda e: (e.last_used, str(e.path)))


def trim(
    root: str | Path,
    limits: CacheLimits,
    *,
    keep: str | Path | None = None,
    now: float | None = None,
) -> list[CacheEntry]:
    """Remove folders unused for longer than ``max_age_days``, then the least recently used ones
    until the cache fits in ``max_mb``; return what was removed.

    ``keep`` (the model just saved) is never removed, nor is a partial folder that may still be
    being written.
    """
    now = time.time() if now is None else now
    keep_path = Path(keep).resolve() if keep is not None else None
    removable, total, removed = [], 0, []
    for entry in cache_entries(root):
        total += entry.size_bytes
        young_partial = entry.state == "partial" and now - entry.last_used < PARTIAL_GRACE_S
        if not young_partial and entry.path.resolve() != keep_path:
            removable.append(entry)
    for entry in removable:  # least recently used first
        expired = limits.max_age_days is not None and (
            now - entry.last_used > limits.max_age_days * DAY_S
        )
        too_big = limits.max_mb is not None and total > limits.max_mb * MB
        if not (expired or too_big):
            continue
        remove(entry.path)
        total -= entry.size_bytes
        removed.append(entry)
    return removed


def remove(path: str | Path) -> None:
    """Delete one cache folder (links are unlinked, never followed) and its digest folder when empty."""
    path = Path(path)
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        with contextlib.suppress(FileNotFoundError):  # another session removed it first
            shutil.rmtree(path)
    with contextlib.suppress(OSError):
        path.parent.rmdir()  # only succeeds when empty


def quarantine(folder: str | Path, root: str | Path) -> Path | None:
    """Move a model folder that must not be loaded into ``<root>/.quarantine/``; return where it went.

    When it cannot be moved it is deleted instead (``None``); ``OSError`` when neither works.
    """
    folder = Path(folder)
    target = (
        Path(root) / QUARANTINE_DIR / f"{folder.parent.name}.{folder.name}.{uuid.uuid4().hex[:8]}"
    )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(folder, target)
    except OSError:
        remove(folder)
        return None
    with contextlib.suppress(OSError):
        os.utime(target)  # its age in quarantine counts from now
    with contextlib.suppress(OSError):
        folder.parent.rmdir()  # only succeeds when no other model is left beside it
    return target


def mark_used(folder: str | Path) -> None:
    """Record that a cached model was just loaded, so ``trim`` removes it last."""
    with contextlib.suppress(OSError):  # a read-only cache: older on paper, nothing worse
        os.utime(folder)


def _entry(path: Path, state: str) -> CacheEntry:
    info = path.lstat()
    if path.is_symlink() or not path.is_dir():
        return CacheEntry(path, state, info.st_size, info.st_mtime)
    size = 0
    for base, _, files in os.walk(path):  # never follows links
        for name in files:
            with contextlib.suppress(OSError):  # removed meanwhile
                size += (Path(base) / name).lstat().st_size
    return CacheEntry(path, state, size, info.st_mtime)


def _limit(env: Mapping[str, str], name: str, default: float) -> float | None:
    text = env.get(name, "").strip()
    if not text:
        return default
    if text.lower() == "off":
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value >= 0):
        raise DataError(f"{name} must be a number >= 0 or 'off', got {text!r}")
    return value
