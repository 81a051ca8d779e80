"""Versions of the libraries a saved model depends on (read from package metadata, no imports)."""

from __future__ import annotations

from functools import cache
from importlib import metadata

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
