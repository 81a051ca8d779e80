"""Versions of the libraries a saved model depends on (read from package metadata, no imports)."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import metadata
from pathlib import Path

# distribution names to try for each library; the first one installed wins
LIBRARIES: dict[str, tuple[str, ...]] = {
    "numpy": ("numpy",),
    "pandas": ("pandas",),
    "scikit-learn": ("scikit-learn",),
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
    "keras": ("keras",),
    "prophet": ("prophet",),
    "skops": ("skops",),
}


def library_versions() -> dict[str, str | None]:
    """``{library: version}`` for every library in ``LIBRARIES`` (None when not installed)."""
    return dict(_versions())


@cache
def _versions() -> tuple[tuple[str, str | None], ...]:
    out: dict[str, str | None] = {}
    for lib, dists in LIBRARIES.items():
        out[lib] = None
        for dist in dists:
            try:
                out[lib] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    return tuple(out.items())


_MODEL_CODE = ("detectors", "features.py")  # the code a fitted model's numbers depend on


def code_version() -> str:
    """12 hex characters of sha256 over the detector and feature source files.

    Part of every saved model's key, so a change to how a detector computes its scores retrains
    instead of loading a model whose scores the current code would not reproduce.
    """
    return _code_version()


@cache
def _code_version() -> str:
    root = Path(__file__).resolve().parent
    files: list[Path] = []
    for name in _MODEL_CODE:
        path = root / name
        files.extend(sorted(path.glob("*.py")) if path.is_dir() else [path])
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
