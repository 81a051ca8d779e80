"""The committed pretrained models load through the same checked loader the app uses."""

from __future__ import annotations

import pytest

from core.detect.detectors import REGISTRY
from core.detect.pipeline import PRETRAINED_DIR
from core.store.model_files import DETECTOR_FILE, load_detector, read_meta

# whatever scripts/pretrain.py last wrote: <digest[:16]>/<detector>-<key>/ folders
FOLDERS = sorted(p.parent for p in PRETRAINED_DIR.glob(f"*/*/{DETECTOR_FILE}"))


def test_the_pretrained_folder_is_found():
    """The glob finds the committed models, so the test below cannot pass by checking nothing."""
    assert FOLDERS, f"no model folders under {PRETRAINED_DIR}"


@pytest.mark.parametrize(
    "folder", FOLDERS, ids=[str(f.relative_to(PRETRAINED_DIR)) for f in FOLDERS]
)
def test_every_pretrained_model_loads_with_the_checked_loader(folder):
    """Each committed model passes the skops allow-list / Keras safe mode and is the fitted detector
    its meta.json names."""
    det = load_detector(folder, REGISTRY)
    assert det.is_fitted
    assert det.name == read_meta(folder)["detector"] == folder.name.rsplit("-", 1)[0]
