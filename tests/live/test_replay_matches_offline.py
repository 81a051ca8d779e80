"""Live = offline rules: replaying a file through the live engine raises exactly the flags and events
that the offline detection after the same warm-up finds, for every threshold mode."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.detect.pipeline import DetectorSettings, causal_settings, make_detector
from core.detect.run import run_detection
from core.detect.thresholds import MODES, ThresholdSettings
from core.live.engine import LiveSettings
from core.live.replay import replay
from tests.conftest import inject_anomalies, synthetic_frame

WARMUP = 24 * 21


@pytest.fixture(scope="module")
def stream() -> tuple[pd.DataFrame, object]:
    """Six weeks with a spike, a drop to zero, a stuck run and a level shift after week four, and the
    default detector's causal twin fitted on the first three weeks."""
    frame, _ = inject_anomalies(synthetic_frame(n_days=42))
    detector = make_detector(causal_settings(DetectorSettings())).fit(frame.iloc[:WARMUP])
    return frame, detector


SETTINGS = [ThresholdSettings(mode=m) for m in MODES] + [
    ThresholdSettings(mode="percentile", percentile=97.0, direction="over"),
    ThresholdSettings(mode="per_month", alerts_per_month=3, min_deviation_pct=20.0),
    ThresholdSettings(k=1.5, direction="under"),
]


# a day's readings per batch for every setting; reading by reading (the slow, strictest way: every
# event grows one step at a time) for one fixed and one history-resolved mode
CASES = [(s, 24) for s in SETTINGS] + [(SETTINGS[0], 1), (ThresholdSettings(mode="dynamic"), 1)]


@pytest.mark.parametrize(
    ("threshold", "batch"),
    CASES,
    ids=lambda c: f"{c.mode}-{c.direction}" if hasattr(c, "mode") else f"batch{c}",
)
def test_replay_gives_the_offline_flags_and_events_after_the_warmup(stream, threshold, batch):
    """Same flags, then the same events (times, type, cause, energy) as offline warm-up detection."""
    frame, detector = stream
    offline = run_detection(
        frame,
        DetectorSettings(),
        threshold,
        freq="1h",
        unit="kWh",
        detector=detector,
        warmup=WARMUP,
    )
    live = replay(
        frame,
        detector,
        WARMUP,
        LiveSettings(threshold=threshold),
        freq="1h",
        unit="kWh",
        batch=batch,
    )
    expected_flags = offline.flags.iloc[WARMUP:]
    assert expected_flags.any(), (
        "the setting must flag something for the comparison to mean anything"
    )
    np.testing.assert_array_equal(live.flags.to_numpy(), expected_flags.to_numpy())
    got = pd.DataFrame(
        [{c: getattr(r.event, c) for c in offline.events.columns} for r in live.events]
    )
    assert len(got) == len(offline.events)
    for col in ("event_id", "start", "end", "n_points", "type", "cause"):
        assert got[col].tolist() == offline.events[col].tolist(), col
    for col in ("peak_score", "actual", "expected", "excess", "duration_h"):
        np.testing.assert_allclose(got[col], offline.events[col], rtol=1e-9, err_msg=col)
    if batch == 1:  # reading by reading, an event is raised by its own first reading
        assert all(r.alert_delay == 0 for r in live.events)


def test_live_judges_by_the_offline_default_threshold():
    """The live settings hold the offline ThresholdSettings, so both default to the same k."""
    assert LiveSettings().threshold == ThresholdSettings()


def test_batches_report_their_alert_delay(stream):
    """A batch of a day's readings raises each event when the batch arrives, not before."""
    frame, detector = stream
    day = replay(frame, detector, WARMUP, freq="1h", unit="kWh", batch=24)
    assert day.events and any(r.alert_delay > 0 for r in day.events)
    for r in day.events:
        arrived = (r.event.first // 24 + 1) * 24 - 1  # last position of the batch that held it
        assert r.alert_delay == arrived - r.event.first


def test_replay_names_the_same_sub_meters_as_offline(shared_data):
    """The real UCI household file (sub-meters kept as context): live events carry the same causes,
    sub-meter sentence included, as offline warm-up detection."""
    from core.ingest.data import CleanOptions, Schema, parse_upload

    path = shared_data / "uci_household_hourly" / "household_power_consumption_hourly.csv"
    ds = parse_upload(path.read_bytes(), path.name, Schema(), CleanOptions())
    frame = ds.frame.loc["2007-01-01":"2007-02-25"]
    assert any(c.startswith("sub_metering") for c in frame.columns)
    warmup = 24 * 28
    detector = make_detector(causal_settings(DetectorSettings())).fit(frame.iloc[:warmup])
    offline = run_detection(
        frame, DetectorSettings(), freq=ds.freq, unit=ds.unit, detector=detector, warmup=warmup
    )
    live = replay(frame, detector, warmup, LiveSettings(), freq=ds.freq, unit=ds.unit, batch=24)
    causes = [r.event.cause for r in live.events]
    assert causes == offline.events["cause"].tolist()
    assert any("sub_metering" in c for c in causes), causes
