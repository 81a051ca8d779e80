"""What the worker does how often: one frozen ``JobPolicy``, validated, each default with its reason.

=======================  ==========  ==========================================================
field                    default     meaning
=======================  ==========  ==========================================================
``detector``             ensemble    the detector (its causal twin is used: see below)
``threshold``            sigma k=2   how calibrated scores become flags (``ThresholdSettings``)
``train_days``           56          the window a model is fitted on (8 weeks: every weekday 8x)
``min_train_days``       14          less history than this: the meter waits for more readings
``context_days``         31          readings before the new ones, scored as the warm-up (at
                                     least the detector's ``lookback``: 30 days of trailing
                                     features for the ensemble)
``backfill_days``        7           a meter scored for the first time: only its last week
                                     (older events would be outside every rule's look-back)
``retrain_after``        7 days      a model older than this is refitted ...
``retrain_min_new_days`` 7           ... when at least this much new data arrived since
``forecast_every``       24 h        the forecast refresh per meter
``forecast_hours``       24          its horizon (seasonal naive: cheap, and a day ahead)
``score_every_s``        300         the full scoring pass (catches anything the poll missed)
``poll_every_s``         2           the short poll of meters' revisions (right after a push)
``lease_ttl_s``          60          a silent worker's lease expires after this; renewed every
                                     third of it
=======================  ==========  ==========================================================

Scores come from the causal twin of the detector (``pipeline.causal_settings``): a reading's score
depends only on readings before it, so scoring only the new readings gives what a full rescore
would, and an event open at the end of one pass comes back with the same start in the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pandas as pd

from core.detect.pipeline import DetectorSettings, causal_settings
from core.detect.thresholds import ThresholdSettings


@dataclass(frozen=True)
class JobPolicy:
    """The worker's settings (see the module docstring's table)."""

    detector: str = "ensemble"
    threshold: ThresholdSettings = field(default_factory=ThresholdSettings)
    train_days: float = 56.0
    min_train_days: float = 14.0
    context_days: float = 31.0
    backfill_days: float = 7.0
    retrain_after: timedelta = timedelta(days=7)
    retrain_min_new_days: float = 7.0
    forecast_every: timedelta = timedelta(hours=24)
    forecast_hours: float = 24.0
    score_every_s: float = 300.0
    poll_every_s: float = 2.0
    lease_ttl_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("train_days", "min_train_days", "context_days", "backfill_days"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.min_train_days > self.train_days:
            raise ValueError("min_train_days cannot exceed train_days")
        for name in ("score_every_s", "poll_every_s", "lease_ttl_s", "forecast_hours"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")

    @property
    def settings(self) -> DetectorSettings:
        """The detector settings models are fitted with (the causal twin)."""
        return causal_settings(DetectorSettings(self.detector))

    @staticmethod
    def days(n: float) -> pd.Timedelta:
        return pd.Timedelta(days=n)
