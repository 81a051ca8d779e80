"""THE detection run: frame -> fitted detector -> scored frame -> flags -> events, in one place.

Every front door calls it: the Anomaly detection page (through ``core.ui.cache``, which caches the
stages so a slider move re-runs only ``detect_events``), ``python -m core detect`` / ``evaluate`` /
``replay``, the benchmarks, and the live engine (which calls the same ``score_frame``,
``flag_points`` and ``find_events`` on each batch). Nothing else strings the steps together.

Two views of the same file:

* **retrospective** (default): the detector looks at the whole file, thresholds that need history
  (percentile, per month, dynamic) use all of it, and so do the week profile and event typing;
* **after a warm-up** (``warmup=N``): what a live stream would have shown. The first ``N`` readings are
  the reference: the week profile, a fixed threshold (``thresholds.resolve_threshold``) and the event
  typing level are learned from them; readings after the warm-up are flagged with no look at later
  ones. With a causal detector fitted on the warm-up (``pipeline.causal_settings``) this equals, flag
  for flag and event for event, what ``core.live`` raises while replaying the file (tested).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.detect.detectors.base import Detector, Progress
from core.detect.events import find_events
from core.detect.holidays import holiday_names
from core.detect.pipeline import DetectorSettings, fit_detector, make_detector
from core.detect.profile import WeekProfile, fit_profile
from core.detect.scoring import score_frame
from core.detect.submeters import submeter_profiles, with_submeter_causes
from core.detect.thresholds import (
    FixedThreshold,
    ThresholdSettings,
    flag_points,
    resolve_threshold,
    threshold_value,
)

# Flags at most this many unflagged steps apart are one event (chosen leave-one-building-out:
# ``python -m core tune``, docs/benchmarks.md).
DEFAULT_MERGE_GAP = 1


@dataclass(frozen=True)
class Reference:
    """What detection after a warm-up learns from it: profile, threshold, the typing level and the
    sub-meters' profiles (``core.detect.submeters``; empty without sub-meter columns)."""

    profile: WeekProfile
    threshold: FixedThreshold
    median_expected: float
    n_points: int
    submeters: Mapping[str, WeekProfile] = field(default_factory=dict)


@dataclass(frozen=True)
class Detection:
    """The result of one detection run.

    ``scored`` (``core.detect.scoring.SCORED_COLUMNS``), ``flags`` (bool, aligned), ``threshold`` (a
    float, or a per-point Series for per-month and dynamic thresholds), ``events``
    (``core.detect.events.COLUMNS``) and the unit their energy is summed in.
    """

    scored: pd.DataFrame
    flags: pd.Series
    threshold: float | pd.Series
    events: pd.DataFrame
    energy_unit: str
    reference: Reference | None = None

    @property
    def n_flagged(self) -> int:
        return int(self.flags.sum())

    def event_mask(self) -> pd.Series:
        """True for every reading from an event's start to its end (the gaps it bridges included)."""
        mask = np.zeros(len(self.scored), dtype=bool)
        if len(self.events):
            index = self.scored.index
            starts = index.get_indexer(pd.DatetimeIndex(self.events["start"]))
            ends = index.get_indexer(pd.DatetimeIndex(self.events["end"]))
            for a, b in zip(starts, ends, strict=True):
                mask[a : b + 1] = True
        return pd.Series(mask, index=self.scored.index, name="event")

    @property
    def n_events(self) -> int:
        return len(self.events)

    def summary(self) -> dict[str, object]:
        """Counts a person reads first: points, flags, events per type, net excess energy."""
        types = self.events["type"].value_counts().to_dict() if len(self.events) else {}
        excess = float(self.events["excess"].sum()) if len(self.events) else 0.0
        return {
            "points": len(self.scored),
            "flagged": self.n_flagged,
            "events": self.n_events,
            "by_type": {str(k): int(v) for k, v in types.items()},
            "excess": excess,
            "energy_unit": self.energy_unit,
        }


def learn_reference(
    detector: Detector, warmup: pd.DataFrame, threshold: ThresholdSettings
) -> Reference:
    """The profile, fixed threshold and typing level that ``warmup`` gives under ``threshold``."""
    profile = fit_profile(warmup["value"])
    scored = score_frame(detector, warmup, profile=profile)
    expected = scored["expected"].to_numpy(dtype=float)
    level = float(np.nanmedian(expected)) if np.isfinite(expected).any() else float("nan")
    return Reference(
        profile, resolve_threshold(scored, threshold), level, len(warmup), submeter_profiles(warmup)
    )


def detect_events(
    scored: pd.DataFrame,
    threshold: ThresholdSettings,
    *,
    freq: pd.Timedelta | str,
    unit: str,
    reference: Reference | None = None,
    merge_gap: int = DEFAULT_MERGE_GAP,
) -> Detection:
    """Flags and events of a scored frame: the steps a threshold slider re-runs (never a refit).

    With a ``reference``, its first ``reference.n_points`` readings are the warm-up: never flagged.
    Sub-meter columns of ``scored`` name the sub-meter behind an event in its cause
    (``core.detect.submeters``; profiles from the reference, else from ``scored``).
    """
    fixed = reference.threshold if reference else None
    flags = flag_points(scored, threshold, fixed=fixed)
    if reference is not None:
        flags.iloc[: reference.n_points] = False
    events = find_events(
        scored,
        flags,
        freq=freq,
        unit=unit,
        merge_gap=merge_gap,
        median_expected=reference.median_expected if reference else None,
        holidays=holiday_names(scored.index, threshold.country) if threshold.country else None,
    )
    events = with_submeter_causes(
        events, scored, freq=freq, unit=unit, profiles=reference.submeters if reference else None
    )
    return Detection(
        scored=scored,
        flags=flags,
        threshold=threshold_value(scored, threshold, fixed=fixed),
        events=events,
        energy_unit=str(events.attrs.get("energy_unit", unit)),
        reference=reference,
    )


def judge_last(
    frame: pd.DataFrame,
    detector: Detector,
    reference: Reference,
    threshold: ThresholdSettings,
    *,
    freq: pd.Timedelta | str,
    unit: str,
) -> Detection:
    """The newest reading of ``frame`` judged after ``reference`` (learned on earlier readings),
    as ``run_detection(..., warmup=len(frame) - 1)`` judges it when the detector and reference
    come from the same readings. The detection holds that one reading: it is scored from the last
    ``detector.lookback`` readings before it (all that its score reads), and the rest of the
    window is history, never scored (``score_frame(..., last=1)``).

    ``detector`` and ``reference`` are reused as they are (never refitted): a caller that keeps
    them can judge each new reading of a stream in one small scoring call.
    """
    data = frame.drop(columns="label") if "label" in frame.columns else frame
    back = detector.lookback(data.index)  # 0: not declared, so every reading may count
    window = data.iloc[-(back + 1) :] if back > 0 else data
    scored = score_frame(detector, window, profile=reference.profile, last=1)
    mask = dataclasses.replace(reference, n_points=0)  # the newest reading is the one judged
    return detect_events(scored, threshold, freq=freq, unit=unit, reference=mask)


def run_detection(
    frame: pd.DataFrame,
    settings: DetectorSettings,
    threshold: ThresholdSettings = ThresholdSettings(),
    *,
    freq: pd.Timedelta | str,
    unit: str,
    digest: str | None = None,
    detector: Detector | None = None,
    warmup: int | None = None,
    progress: Progress | None = None,
) -> Detection:
    """Detect anomalies in ``frame`` (the canonical frame of ``core.ingest.data.Dataset``).

    Parameters
    ----------
    settings, threshold
        which detector, and how its calibrated scores become flags.
    freq, unit
        the dataset's step and unit (``Dataset.freq``, ``Dataset.unit``): they size the events' energy.
    digest
        the dataset's content digest: with it the fitted model is loaded from (or saved to) the model
        cache; without it the detector is fitted in memory.
    detector
        an already fitted detector (the live engine's, a cached one): nothing is fitted.
    warmup
        detect as a live stream would after the first ``warmup`` readings (see the module docstring).
    progress
        ``progress(fraction, message)`` while fitting.

    A ``label`` column never reaches the detector.
    """
    data = frame.drop(columns="label", errors="ignore")
    if detector is None:
        if digest is not None:
            detector = fit_detector(data, digest, settings, progress=progress)
        else:
            detector = make_detector(settings).fit(data, progress=progress)
    reference = None
    if warmup is not None:
        if not 1 < warmup < len(data):
            raise ValueError(
                f"the warm-up must be between 2 and {len(data) - 1} readings, got {warmup}"
            )
        reference = learn_reference(detector, data.iloc[:warmup], threshold)
    scored = score_frame(detector, data, profile=reference.profile if reference else None)
    if "label" in frame.columns:
        scored["label"] = frame["label"]
    return detect_events(scored, threshold, freq=freq, unit=unit, reference=reference)
