"""The live engine's values: its settings (holding the offline ``ThresholdSettings``), its events and
its state between ticks. All frozen: ``core.live.engine.step`` returns a new state."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from core.detect.detectors.base import Detector
from core.detect.run import Reference
from core.detect.thresholds import ThresholdSettings
from core.live.injections import Injection


@dataclass(frozen=True)
class LiveSettings:
    """How the stream is judged (``threshold``: the offline class and defaults) and shown."""

    threshold: ThresholdSettings = field(default_factory=ThresholdSettings)
    keep: int = 500  # readings kept for display (at least ``context`` are kept for scoring)
    context: int | None = None  # readings of history behind each new one; None = work it out
    merge_gap: int = 1  # as core.detect.events: flags this close together are one event
    grace: int = 24  # readings after an injection's end that still count as detecting it
    spike_sigma: float = 8.0  # an injected spike adds at least this many robust sigmas
    spike_factor: float = 2.5  # ... and makes the reading at least this many times what it was
    drop_length: int = 6
    stuck_length: int = 12
    refit_every: int = 0  # readings between refits on a rolling window; 0 = never (default)
    refit_window: int = 24 * 28

    @classmethod
    def from_threshold(cls, threshold: ThresholdSettings, **kwargs: object) -> LiveSettings:
        """Live settings that judge by ``threshold`` (the Anomaly detection page's settings)."""
        return cls(threshold=threshold, **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class LiveEvent:
    """One live event: the ``core.detect.events`` columns plus its stream positions."""

    event_id: int
    start: pd.Timestamp
    end: pd.Timestamp
    duration_h: float
    n_points: int
    peak_score: float
    mean_score: float
    actual: float
    expected: float
    excess: float
    type: str
    cause: str
    first: int  # stream position of its first flagged reading
    last: int  # stream position of its last flagged reading


@dataclass(frozen=True)
class LiveState:
    """Everything the live page needs between ticks. Treat as immutable: ``step`` returns a new one."""

    detector: Detector
    settings: LiveSettings
    reference: Reference
    context: int
    batch_causal: bool  # one scoring call per batch (True) or per reading
    columns: tuple[str, ...]  # the reading columns the detector sees (value + covariates)
    freq: pd.Timedelta
    unit: str
    scale: float  # robust sigma of the warm-up readings (sizes injected spikes)
    initial: pd.DataFrame  # the scored warm-up tail: what reset goes back to
    buffer: pd.DataFrame  # last readings with score, expected, flag, live, injected, position
    position: int = 0  # stream readings consumed
    running: bool = False
    n_flagged: int = 0
    events: tuple[LiveEvent, ...] = ()
    new_alerts: tuple[LiveEvent, ...] = ()  # events opened by the last step (one alert each)
    injections: tuple[Injection, ...] = ()
    since_refit: int = 0
    n_refits: int = 0

    @property
    def threshold(self) -> float:
        """The threshold the stream is judged by (on the smoothed score in dynamic mode)."""
        return float(self.reference.threshold.value)

    @property
    def n_events(self) -> int:
        return len(self.events)
