"""Detectors behind one contract (see base.py). Importing this package fills REGISTRY.

Detector modules keep heavy libraries (TensorFlow, Prophet) behind lazy imports, so this stays cheap.
"""

from core.detect.detectors import (  # noqa: F401  (imported to register)
    ensemble,
    isolation_forest,
    learned,
    lof,
    lstm,
    meter_fault,
    ocsvm,
    prophet,
    rolling_z,
    seasonal_naive,
)
from core.detect.detectors.base import REGISTRY, Detector, NotFittedError, calibrate, register

__all__ = ["REGISTRY", "Detector", "NotFittedError", "calibrate", "register"]
