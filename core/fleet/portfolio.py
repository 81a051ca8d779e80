"""THE per-meter function of a fleet: readings + settings -> one portfolio row and its events.

``score_meter`` calls :func:`core.detect.run.run_detection` once (never a second detection run), so a
meter scored in the fleet gets exactly the events it gets on its own; ``portfolio_row`` only sums up
what that run found. Both are pure: no I/O, no Dask, no printing, so any runner can map them.

The row (``PortfolioRow``, ``COLUMNS`` in this order; energy always in kWh so meters compare):

=====================  ========================================================================
column                 meaning
=====================  ========================================================================
``meter``              the meter's name (a stored meter's name, a file's meter id or file name)
``site``               site, when known (stored meters, LEAD ``site_id``)
``building_type``      building type / primary use, when known
``unit``               the readings' unit (kWh, kW, MWh, ...)
``points``             readings on the meter's grid (missing ones included)
``start`` / ``end``    first and last time of the grid
``last_reading``       time of the newest reading that is not missing
``excess_over_kwh``    energy above the expected band summed over over-use events (>= 0)
``excess_under_kwh``   energy below it summed over under-use events (>= 0, a magnitude)
``anomaly_hours``      flagged readings x the step in hours
``events``             events found
``open_events``        events that end within ``FleetSettings.open_days`` of the last reading
                       (still going on, or too recent for anyone to have looked)
``worst_type``         type of the event with the largest energy deviation (``core.detect.events``)
``worst_cause``        its one-sentence cause
``worst_start``        when it started
``worst_excess_kwh``   its signed excess energy
``missing_share``      missing readings / points (0 .. 1)
``flat_runs``          runs of identical non-zero readings (a stuck register; ``core.ingest.quality``)
``sparkline``          mean reading per day over the last ``FleetSettings.sparkline_days`` days
=====================  ========================================================================

Cost is not in the row: it is ``excess_over_kwh x tariff`` (``cost``, ``with_cost``), computed where the tariff is
set (the page's tariff box, ``--tariff``), so changing the tariff never rescores anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.detect.pipeline import DetectorSettings
from core.detect.run import Detection, run_detection
from core.detect.thresholds import ThresholdSettings
from core.ingest import quality as q
from core.store.fleet import ROW_KEYS

KWH_PER = {"Wh": 1e-3, "kWh": 1.0, "MWh": 1e3, "GWh": 1e6}  # energy units of core.detect.events
# the stored row's keys (core.store.fleet), less what the runner adds (a failure's error, the time)
COLUMNS: tuple[str, ...] = tuple(k for k in ROW_KEYS if k not in ("error", "seconds"))


@dataclass(frozen=True)
class FleetSettings:
    """How every meter of a fleet is scored: one detector and threshold for all, plus the summary.

    ``open_days``: an event ending this close to the meter's newest reading is open (a week: what
    an energy manager looks back over on a Monday). ``sparkline_days``: days in the sparkline.
    """

    detector: DetectorSettings = field(default_factory=DetectorSettings)
    threshold: ThresholdSettings = field(default_factory=ThresholdSettings)
    open_days: float = 7.0
    sparkline_days: int = 60

    def __post_init__(self) -> None:
        if not self.open_days >= 0:
            raise ValueError(f"open_days must be >= 0, got {self.open_days}")
        if not 1 <= self.sparkline_days <= 3660:
            raise ValueError(f"sparkline_days must be 1 to 3660, got {self.sparkline_days}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the store: detector name and parameters, threshold, summary options."""
        return {
            "detector": self.detector.detector,
            "params": {k: _plain(v) for k, v in self.detector.kwargs().items()},
            "threshold": _plain(asdict(self.threshold)),
            "open_days": self.open_days,
            "sparkline_days": self.sparkline_days,
        }


@dataclass(frozen=True)
class MeterInput:
    """One meter's canonical frame (``core.ingest.data.Dataset.frame``) with what the row needs."""

    name: str
    frame: pd.DataFrame
    freq: pd.Timedelta
    unit: str
    site: str | None = None
    building_type: str | None = None


@dataclass(frozen=True)
class PortfolioRow:
    """One meter's line in the portfolio (see the module docstring for each field)."""

    meter: str
    site: str | None
    building_type: str | None
    unit: str
    points: int
    start: pd.Timestamp
    end: pd.Timestamp
    last_reading: pd.Timestamp | None
    excess_over_kwh: float
    excess_under_kwh: float
    anomaly_hours: float
    events: int
    open_events: int
    worst_type: str | None
    worst_cause: str | None
    worst_start: pd.Timestamp | None
    worst_excess_kwh: float | None
    missing_share: float
    flat_runs: int
    sparkline: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in COLUMNS}


@dataclass(frozen=True)
class MeterResult:
    """What scoring one meter gives: its row and the run's events (``core.detect.events.COLUMNS``)."""

    row: PortfolioRow
    events: pd.DataFrame
    energy_unit: str


def score_meter(meter: MeterInput, settings: FleetSettings = FleetSettings()) -> MeterResult:
    """Detect on one meter with the one detection run and sum it up as a portfolio row.

    The detector is fitted in memory (no model cache: a fleet would fill it with thousands of
    one-off models); fitting is deterministic, so the events equal the page's, which loads the same
    fit from the cache.
    """
    detection = run_detection(
        meter.frame, settings.detector, settings.threshold, freq=meter.freq, unit=meter.unit
    )
    return MeterResult(
        portfolio_row(meter, detection, settings), detection.events, detection.energy_unit
    )


def portfolio_row(meter: MeterInput, detection: Detection, settings: FleetSettings) -> PortfolioRow:
    """The row that sums up ``detection`` (run on ``meter.frame``) for the portfolio."""
    frame, events = meter.frame, detection.events
    values = frame["value"].to_numpy(dtype=float)
    valid = np.flatnonzero(~np.isnan(values))
    to_kwh = KWH_PER.get(detection.energy_unit, float("nan"))
    excess = events["excess"].to_numpy(dtype=float) * to_kwh if len(events) else np.zeros(0)
    last = frame.index[valid[-1]] if valid.size else None
    open_events = 0
    worst: dict[str, Any] = {}
    if len(events):
        if last is not None:
            cutoff = last - pd.Timedelta(days=settings.open_days)
            open_events = int((pd.DatetimeIndex(events["end"]) >= cutoff).sum())
        # the worst event deviates most in energy; the peak score breaks ties (and NaN energy)
        order = np.lexsort(
            (-events["peak_score"].to_numpy(dtype=float), -np.nan_to_num(np.abs(excess)))
        )
        worst = events.iloc[int(order[0])].to_dict()
        worst["excess_kwh"] = float(excess[order[0]])
    step_h = meter.freq / pd.Timedelta(hours=1)
    return PortfolioRow(
        meter=meter.name,
        site=meter.site,
        building_type=meter.building_type,
        unit=meter.unit,
        points=len(frame),
        start=frame.index[0],
        end=frame.index[-1],
        last_reading=last,
        excess_over_kwh=float(excess[excess > 0].sum()),
        excess_under_kwh=float(-excess[excess < 0].sum()),
        anomaly_hours=float(detection.n_flagged * step_h),
        events=len(events),
        open_events=open_events,
        worst_type=_text(worst.get("type")),
        worst_cause=_text(worst.get("cause")),
        worst_start=worst.get("start"),
        worst_excess_kwh=worst.get("excess_kwh"),
        missing_share=float(1 - valid.size / len(values)) if len(values) else 1.0,
        flat_runs=int(q.flat_runs(frame.index, values, meter.freq)["count"]),
        sparkline=sparkline(frame["value"], settings.sparkline_days),
    )


def sparkline(value: pd.Series, days: int) -> tuple[float, ...]:
    """Mean reading per calendar day over the last ``days`` days (NaN for a day with none)."""
    if value.empty:
        return ()
    recent = value[value.index >= value.index[-1].normalize() - pd.Timedelta(days=days - 1)]
    daily = recent.groupby(recent.index.normalize()).mean()
    return tuple(float(round(v, 6)) for v in daily.to_numpy(dtype=float))


def cost(excess_kwh: float, tariff: float) -> float:
    """The cost of ``excess_kwh`` of over-use at ``tariff`` (money per kWh)."""
    if not tariff >= 0:
        raise ValueError(f"the tariff must be >= 0 per kWh, got {tariff}")
    return excess_kwh * tariff


def with_cost(rows: pd.DataFrame, tariff: float) -> pd.DataFrame:
    """A copy of portfolio ``rows`` with ``cost``: each meter's over-use at ``tariff`` per kWh."""
    out = rows.copy()
    out["cost"] = cost(pd.to_numeric(out["excess_over_kwh"], errors="coerce"), tariff)
    return out


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
