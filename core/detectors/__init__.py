"""Detectors behind one contract (see base.py). Importing this package fills REGISTRY."""

import contextlib

from core.detectors import (  # noqa: F401  (imported to register)
    ensemble,
    isolation_forest,
    lof,
    meter_fault,
    ocsvm,
    rolling_z,
    seasonal_naive,
)
from core.detectors.base import REGISTRY, Detector, NotFittedError, calibrate, register

# written in parallel: imported plainly once they exist
with contextlib.suppress(ImportError):
    from core.detectors import lstm  # noqa: F401
with contextlib.suppress(ImportError):
    from core.detectors import prophet  # noqa: F401

__all__ = ["REGISTRY", "Detector", "NotFittedError", "calibrate", "register"]
