"""The version of the code a fitted model's numbers depend on (detectors and features)."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

_MODEL_CODE = ("detectors", "features.py", "profile.py")  # the code a fitted model's numbers depend on


def code_version() -> str:
    """12 hex characters of sha256 over the detector and feature source files.

    Part of every saved model's key, so a change to how a detector computes its scores retrains
    instead of loading a model whose scores the current code would not reproduce.
    """
    return _code_version()


@cache
def _code_version() -> str:
    root = Path(__file__).resolve().parent  # core/detect
    files: list[Path] = []
    for name in _MODEL_CODE:
        path = root / name
        files.extend(sorted(path.glob("*.py")) if path.is_dir() else [path])
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
