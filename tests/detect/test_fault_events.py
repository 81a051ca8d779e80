"""A stuck or zeroed meter is one event, whatever share of the file it fills (issue 15).

Real LEAD buildings with faults put in by hand: before the ensemble raised sure faults above its
threshold, ten stuck days calibrated near 1.5 (they share the top rank) and raised no event at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.detect.detectors.ensemble import FAULT_FLOOR, FAULT_NATURAL, EnsembleDetector
from core.detect.events import find_events
from core.detect.pipeline import DetectorSettings
from core.detect.run import run_detection
from core.ingest.data import CleanOptions, Schema, parse_upload


def _lead(shared_data, building: str):
    path = shared_data / "lead_dev" / f"building_{building}.csv"
    ds = parse_upload(path.read_bytes(), path.name, Schema(), CleanOptions())
    return ds.frame.drop(columns="label"), ds


def _events_in(detection, start: str, end: str) -> pd.DataFrame:
    ev = detection.events
    return ev[(ev["end"] >= pd.Timestamp(start)) & (ev["start"] <= pd.Timestamp(end))]


def test_long_stuck_stretches_are_one_flat_event_each(shared_data):
    frame, ds = _lead(shared_data, "121")
    day_value = frame.loc["2016-06-01 13:00", "value"]
    frame.loc["2016-06-01 13:00":"2016-06-12 00:00", "value"] = day_value  # stuck for 10.5 days
    night_value = frame.loc["2016-10-01 03:00", "value"]
    frame.loc["2016-10-01 00:00":"2016-10-20 00:00", "value"] = night_value  # 19 days
    found = run_detection(frame, DetectorSettings(), freq=ds.freq, unit=ds.unit)
    for start, end in (("2016-06-01 13:00", "2016-06-12 00:00"), ("2016-10-01", "2016-10-20")):
        inside = _events_in(found, start, end)
        assert len(inside) == 1, inside[["start", "end", "type"]]
        event = inside.iloc[0]
        assert event["type"] == "flat"
        assert event["start"] <= pd.Timestamp(start) + pd.Timedelta("1h")
        assert event["end"] >= pd.Timestamp(end) - pd.Timedelta("1h")
        assert "stuck at" in event["cause"]
    stuck = found.scored.loc["2016-06-01 13:00":"2016-06-12 00:00", "score"]
    assert (stuck >= FAULT_FLOOR).all()


def test_a_register_that_sticks_again_after_each_move_is_one_fault(shared_data):
    frame, ds = _lead(shared_data, "697")
    first = pd.Timestamp("2016-04-01 00:00")
    for d in range(12):  # moves once a day, then repeats that reading for 23 hours
        day = first + pd.Timedelta(days=d)
        frame.loc[day : day + pd.Timedelta(hours=22), "value"] = frame.loc[day, "value"]
    found = run_detection(frame, DetectorSettings(), freq=ds.freq, unit=ds.unit)
    inside = _events_in(found, "2016-04-01", "2016-04-12 23:00")
    assert len(inside) == 1, inside[["start", "end", "type"]]
    assert inside.iloc[0]["type"] == "flat"
    assert inside.iloc[0]["duration_h"] >= 11 * 24


def test_a_series_that_is_mostly_flat_keeps_its_ranks(shared_data):
    """NAB's key-press counts sit still for days: flat is how that series behaves, not a fault."""
    path = shared_data / "nab_real_known_cause" / "rogue_agent_key_updown.csv"
    ds = parse_upload(path.read_bytes(), path.name, Schema(), CleanOptions())
    det = EnsembleDetector().fit(ds.frame)
    assert det.fault_share_ > FAULT_NATURAL
    plain = super(EnsembleDetector, det).calibrated(ds.frame)
    pd.testing.assert_series_equal(det.calibrated(ds.frame), plain)


def _scored(values: np.ndarray) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=values.size, freq="1h")
    return pd.DataFrame(
        {"value": values, "score": 0.0, "expected": 10.0, "deviation": values - 10.0}, index=index
    )


@pytest.mark.parametrize(("gap", "events"), [(5, 1), (23, 1), (30, 2)])
def test_fault_events_a_day_apart_merge_and_further_apart_do_not(gap, events):
    values = np.r_[
        np.linspace(9, 11, 48), np.full(12, 4.0), np.linspace(9, 11, gap), np.full(12, 4.0)
    ]
    values = np.r_[values, np.linspace(9, 11, 48)]
    scored = _scored(values)
    flags = pd.Series(values == 4.0, index=scored.index)
    out = find_events(scored, flags, freq="1h", unit="kWh")
    assert len(out) == events
    assert set(out["type"]) == {"flat"}


def test_other_event_types_a_few_hours_apart_stay_apart():
    values = np.r_[np.full(36, 10.0) + np.sin(np.arange(36)), 40.0, np.full(5, 10.5), 40.0]
    values = np.r_[values + np.arange(values.size) * 1e-3, np.linspace(9, 11, 24)]
    scored = _scored(values)
    flags = pd.Series(values >= 39.0, index=scored.index)
    out = find_events(scored, flags, freq="1h", unit="kWh")
    assert list(out["type"]) == ["spike", "spike"]


def test_a_meter_at_zero_for_a_third_of_the_year_is_one_event(shared_data):
    frame, ds = _lead(shared_data, "118")
    frame.loc["2016-04-01":"2016-07-31", "value"] = 0.0  # four months at zero
    found = run_detection(frame, DetectorSettings(), freq=ds.freq, unit=ds.unit)
    inside = _events_in(found, "2016-04-01", "2016-07-31 23:00")
    assert len(inside) == 1, inside[["start", "end", "type"]]
    assert inside.iloc[0]["type"] == "drop_to_zero"
    assert inside.iloc[0]["duration_h"] >= 120 * 24
