"""Page-side shapes: detector choice, event windows, counters, the metrics table, the date window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.charts.tables import (
    date_window,
    detector_settings,
    event_window,
    file_stem,
    metrics_lines,
    metrics_table,
    summary_counts,
)
from core.detect.pipeline import DetectorSettings


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        (["ensemble"], DetectorSettings("ensemble")),
        (["lof"], DetectorSettings("lof")),
        (["ensemble", "lof"], DetectorSettings("lof")),
        (["lof", "rolling_z"], DetectorSettings.of("ensemble", members=("lof", "rolling_z"))),
    ],
)
def test_detector_settings(chosen, expected):
    """One pick is that detector; several become an ensemble of them (never of "ensemble")."""
    assert detector_settings(chosen) == expected


def test_detector_settings_needs_a_pick():
    """An empty pick is refused in words."""
    with pytest.raises(ValueError, match="at least one"):
        detector_settings([])


def _frame(days: int = 14):
    idx = pd.date_range("2024-01-01", periods=24 * days, freq="1h", name="timestamp")
    scored = pd.DataFrame({"value": 1.0, "score": 0.0}, index=idx)
    flags = pd.Series(False, index=idx)
    flags.iloc[[5, 6, 200]] = True
    events = pd.DataFrame(
        {
            "start": [idx[5], idx[200]],
            "end": [idx[6], idx[200]],
            "excess": [3.0, -2.0],
            "type": ["spike", "dip"],
            "cause": ["a", "b"],
        }
    )
    return scored, flags, events


def test_summary_counts():
    """Two events in two weeks: one alert per week; over-use and under-use apart, each with its sign."""
    scored, flags, events = _frame()
    counts = summary_counts(scored, flags, events, pd.Timedelta("1h"))
    assert counts == {
        "events": 2,
        "alerts_per_week": 1.0,
        "flagged": 3,
        "excess": 3.0,
        "over": 3.0,
        "under": -2.0,
    }


def test_date_window_keeps_whole_days_and_overlapping_events():
    """The end date is included whole; only events in the window remain."""
    scored, flags, events = _frame()
    view, vflags, vevents = date_window(scored, flags, events, "2024-01-01", "2024-01-02")
    assert len(view) == 48 and int(vflags.sum()) == 2
    assert list(vevents["type"]) == ["spike"]


def test_event_window_pads_each_side():
    """The zoom shows the event plus at least six hours each side."""
    ev = pd.Series(
        {"start": pd.Timestamp("2024-01-02 10:00"), "end": pd.Timestamp("2024-01-02 12:00")}
    )
    lo, hi = event_window(ev, pd.Timedelta("15min"))
    assert lo == pd.Timestamp("2024-01-02 04:00") and hi == pd.Timestamp("2024-01-02 18:00")


def test_metrics_table_and_lines():
    """Evaluation output becomes rows with the random baseline beside each metric."""
    result = {"f1": 0.5, "random_f1": 0.1, "auc_roc": 0.9, "random_auc_roc": np.float64(0.5)}
    table = metrics_table(result)
    assert list(table["metric"]) == ["F1 (points)", "AUC-ROC"]
    assert metrics_lines(result)["AUC-ROC"] == "0.900 (random 0.500)"


def test_file_stem():
    """Download names keep letters and digits only."""
    assert file_stem("University building, Turin (2019)") == "University_building__Turin__2019_"
    assert file_stem("") == "dataset"
