"""The settings pages share, as one typed value (never another page's widget keys).

``DetectionChoice`` is what the Anomaly detection page settled on: the applied detector (changed only
by its Apply button) and the threshold its widgets describe. That page writes it with
``share_detection`` on every run; Explainability and Live simulation read it with
``detection_choice``, which gives the defaults (the ensemble, a sigma threshold) before anyone has
visited the detection page. Session key: ``detection_choice``.

``holiday_choice`` draws the public-holiday controls (country, region, "count holidays as normal") for
one dataset: the country starts from ``guess_dataset_country`` (the meter's time zone, or what is
known of a bundled sample) and is kept per dataset, so another file gets its own guess.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import streamlit as st

from core.detect.holidays import country_names, guess_country, regions
from core.detect.pipeline import DetectorSettings
from core.detect.thresholds import ThresholdSettings
from core.ingest.data import Dataset
from core.ingest.refs import DatasetRef
from core.ui.state import kept

KEY = "detection_choice"
# Where the bundled samples were measured (their files carry no time zone).
SAMPLE_COUNTRIES = {"polito_building": "IT", "pjm_comed": "US-IL", "uk_demand": "GB"}
NO_COUNTRY = ""


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


def detection_choice(ds: Dataset | None = None, ref: DatasetRef | None = None) -> DetectionChoice:
    """The shared detection settings (the defaults when the detection page has not set them; with
    ``ds`` and ``ref`` those defaults take the dataset's guessed holiday country, as the detection
    page would, so a first visit to Explainability lists the same events)."""
    found = st.session_state.get(KEY)
    if isinstance(found, DetectionChoice):
        return found
    if ds is None or ref is None:
        return DetectionChoice()
    country = guess_dataset_country(ds, ref)
    return DetectionChoice(threshold=replace(ThresholdSettings(), country=country))


def share_detection(choice: DetectionChoice) -> None:
    st.session_state[KEY] = choice


def guess_dataset_country(ds: Dataset, ref: DatasetRef) -> str | None:
    """The country (``core.detect.holidays`` form) a dataset was most likely measured in: from its
    time zone (index, schema or quality report), else the bundled sample's, else None."""
    tz = ds.frame.index.tz or ds.schema.tz or ds.report.fields.get("timezone")
    found = guess_country(str(tz)) if tz else None
    if found is None and ref.source == "sample":
        found = SAMPLE_COUNTRIES.get(ref.name)
    return found


def holiday_choice(ds: Dataset, ref: DatasetRef) -> tuple[str | None, bool]:
    """The public-holiday widgets for ``ds``: ``(country or None, count holidays as normal)``.

    Keys carry the dataset's digest, so each dataset keeps its own country (first: the guess).
    """
    tag = ds.digest[:12]
    guess = guess_dataset_country(ds, ref) or NO_COUNTRY
    names = country_names()
    country = st.selectbox(
        "Public holidays of",
        [NO_COUNTRY, *names],
        format_func=lambda c: names.get(c, "None (no holidays)"),
        key=kept(f"detect_country_{tag}", guess.partition("-")[0]),
        help="Readings on this country's public holidays become named 'holiday' events. Guessed "
        "from the meter's time zone.",
    )
    if not country:
        return None, False
    found = regions(country)
    region = ""
    if found:
        default = guess.partition("-")[2] if guess.startswith(country) else ""
        region = st.selectbox(
            "Region",
            ["", *found],
            format_func=lambda r: found.get(r, "Whole country"),
            key=kept(f"detect_region_{tag}_{country}", default if default in found else ""),
            help="Regional holidays (states, provinces) where they differ.",
        )
    normal = st.toggle(
        "Count holidays as normal",
        key=kept("detect_holidays_normal", False),
        help="Holidays never flag: a building closed on Easter Monday is not an anomaly.",
    )
    return (f"{country}-{region}" if region else country), bool(normal)
