"""Fit and save the models the app needs at once for the bundled samples (``models/pretrained``).

The hosted app then shows results on its first visit without training anything. A model is keyed by
the data digest, the settings, the library versions and the detector code (``DetectorSettings.key``),
so after an upgrade or a detector change this script must be run again (the app would otherwise fit
and cache the model itself on first use, which is slower but correct).

    python scripts/pretrain.py [SAMPLE ...]      # default: every bundled sample
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.detect.pipeline import PRETRAINED_DIR, DetectorSettings, fit_detector  # noqa: E402
from core.ingest.samples import SAMPLES, load_sample  # noqa: E402


def app_defaults(has_temperature: bool) -> list[DetectorSettings]:
    """The settings the pages ask for before the user touches anything."""
    return [
        DetectorSettings(),  # Anomaly detection, Explainability (its Isolation Forest member)
        DetectorSettings.of("prophet", use_temperature=has_temperature),  # Forecasting
        DetectorSettings.of("lstm", use_temperature=has_temperature),  # Forecasting overlay
    ]


def main(keys: list[str]) -> int:
    for key in keys or list(SAMPLES):
        ds = load_sample(key)
        folder = PRETRAINED_DIR / ds.digest[:16]
        shutil.rmtree(folder, ignore_errors=True)  # drop models of older code or settings
        for settings in app_defaults("temperature" in ds.frame.columns):
            t = time.perf_counter()
            fit_detector(ds.frame, ds.digest, settings, root=PRETRAINED_DIR, pretrained=None)
            print(f"{key:16s} {settings.detector:10s} {time.perf_counter() - t:6.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
