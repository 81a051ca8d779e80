"""The settings pages share, as one typed value (never another page's widget keys).

``DetectionChoice`` is what the Anomaly detection page settled on: the applied detector (changed only
by its Apply button) and the threshold its widgets describe. That page writes it with
``share_detection`` on every run; Explainability and Live simulation read it with
``detection_choice``, which gives the defaults (the ensemble, a sigma threshold) before anyone has
visited the detection page. Session key: ``detection_choice``.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.detect.pipeline import DetectorSettings
from core.detect.thresholds import ThresholdSettings

KEY = "detection_choice"


@dataclass(frozen=True)
class DetectionChoice:
    """Detector and threshold of the Anomaly detection page. Frozen, so it can key a cache."""

    detector: DetectorSettings = DetectorSettings()
    threshold: ThresholdSettings = ThresholdSettings()

    def detector_names(self) -> list[str]:
        """The detectors as the page's picker lists them: the ensemble's members, or the one name."""
        members = dict(self.detector.params).get("members")
        if self.detector.detector == "ensemble" and members:
            return list(members)
        return [self.detector.detector]


def detection_choice() -> DetectionChoice:
    """The shared detection settings (the defaults when the detection page has not set them)."""
    found = st.session_state.get(KEY)
    return found if isinstance(found, DetectionChoice) else DetectionChoice()


def share_detection(choice: DetectionChoice) -> None:
    st.session_state[KEY] = choice
