"""Behaviour specific to the baselines and the meter-fault rules."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.detect.detectors.meter_fault import MeterFaultDetector, run_lengths
from core.detect.detectors.rolling_z import RollingZDetector
from core.detect.detectors.seasonal_naive import SeasonalNaiveDetector
from tests.conftest import synthetic_frame


def test_run_lengths_counts_each_run():
    """Every True position gets the length of its run; False positions get 0."""
    got = run_lengths(np.array([0, 1, 1, 0, 1, 1, 1], dtype=bool))
    assert got.tolist() == [0, 2, 2, 0, 3, 3, 3]


def test_meter_fault_scores_grow_with_run_length_and_fire_on_each_rule():
    """Stuck runs fire from ``min_flat_hours`` on and score higher when longer; zeros, negatives
    and huge jumps fire; ordinary readings stay below 1."""
    frame = synthetic_frame(n_days=21)
    v = frame["value"].to_numpy().copy()
    v[100:106] = v[99]  # 7 identical readings: fires (>= 6 hours)
    v[200:212] = v[199]  # 13 identical readings: fires harder
    v[300:303] = 0.0  # drop to zero
    v[400] = -5.0  # negative
    v[450] = v[450] * 20  # impossible jump
    frame["value"] = v
    s = MeterFaultDetector().fit(frame).score(frame)
    assert s.iloc[100] >= 1 and s.iloc[200] > s.iloc[100]
    assert (s.iloc[300:303] > 1).all() and s.iloc[400] > 2 and s.iloc[450] > 1
    ordinary = s.drop(s.index[[*range(99, 106), *range(199, 212), 300, 301, 302, 400, 450, 451]])
    assert (ordinary < 1).all()


def test_meter_fault_does_not_call_zero_a_drop_when_zero_is_usual():
    """A meter that is usually near zero (e.g. a night-only load) is not flagged for zeros."""
    frame = synthetic_frame(n_days=14)
    frame["value"] = np.where(frame.index.hour < 18, 0.0, frame["value"])
    det = MeterFaultDetector(min_flat_hours=1000).fit(frame)
    assert det.level_ == 0.0
    assert (det.score(frame) < 1).mean() > 0.99


def test_seasonal_naive_expects_last_weeks_reading():
    """Expected = the reading one week earlier (plus the median residual); a week of warm-up."""
    frame = synthetic_frame(n_days=21)
    det = SeasonalNaiveDetector().fit(frame)
    exp = det.expected(frame)
    t = pd.Timestamp("2023-01-18 10:00")
    assert exp.at[t, "expected"] == frame["value"][t - pd.Timedelta("7D")] + det.center_
    assert exp["expected"].iloc[:168].isna().all()
    assert det.score(frame).iloc[:168].isna().all()


def test_rolling_z_ignores_the_current_reading_in_its_baseline():
    """A spike does not raise its own baseline: expected at the spike is the median before it."""
    frame = synthetic_frame(n_days=7)
    frame.iloc[100, 0] = 1e4
    det = RollingZDetector(window=24).fit(frame)
    exp = det.expected(frame)
    assert exp["expected"].iloc[100] == frame["value"].iloc[76:100].median()
    assert det.score(frame).idxmax() == frame.index[100]
