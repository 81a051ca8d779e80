"""Detectors behind one contract (see base.py). Importing this package fills REGISTRY."""

from core.detectors.base import REGISTRY, Detector, NotFittedError, calibrate, register

__all__ = ["REGISTRY", "Detector", "NotFittedError", "calibrate", "register"]
