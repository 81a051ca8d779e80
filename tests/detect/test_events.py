"""Events: flagged runs -> typed events with energy sums and a sentence a person can read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.detect.events import COLUMNS, TYPES, find_events


def scored_for(values: np.ndarray, expected: np.ndarray, start: str = "2024-01-01") -> pd.DataFrame:
    idx = pd.date_range(start, periods=len(values), freq="1h", name="timestamp")
    dev = values - expected
    return pd.DataFrame(
        {
            "value": values,
            "score": np.abs(dev) / 5.0,
            "expected": expected,
            "deviation": dev,
        },
        index=idx,
    )


def base(n: int = 24 * 14) -> tuple[np.ndarray, np.ndarray]:
    """Two weeks (from a Monday) of a working-hours profile: 40 at night, 120 from 08:00 to 18:00."""
    idx = pd.date_range("2024-01-01", periods=n, freq="1h")
    hour = idx.hour
    work = (hour >= 8) & (hour < 18) & (idx.dayofweek < 5)
    expected = np.where(work, 120.0, 40.0)
    return expected.copy(), expected


RAMP = np.linspace(40.0, 60.0, 10)  # a shift that is not a stuck reading


def flags_at(scored: pd.DataFrame, positions) -> pd.Series:
    f = np.zeros(len(scored), dtype=bool)
    f[list(positions)] = True
    return pd.Series(f, index=scored.index)


def test_no_flags_give_an_empty_frame_with_the_columns():
    """Nothing flagged -> no rows, but the documented columns, so tables and charts still render."""
    values, expected = base()
    scored = scored_for(values, expected)
    events = find_events(scored, flags_at(scored, []), freq="1h", unit="kWh")
    assert list(events.columns) == list(COLUMNS)
    assert events.empty
    assert events.attrs["energy_unit"] == "kWh"


@pytest.mark.parametrize(
    ("kind", "positions", "edit"),
    [
        ("spike", [24 + 14], lambda v: v.__setitem__(24 + 14, 400.0)),
        ("dip", [24 + 14], lambda v: v.__setitem__(24 + 14, 30.0)),
        ("drop_to_zero", range(24 + 9, 24 + 14), lambda v: v.__setitem__(slice(33, 38), 0.0)),
        ("flat", range(48 + 8, 48 + 14), lambda v: v.__setitem__(slice(56, 62), 77.7)),
        ("level_shift", range(80, 90), lambda v: v.__setitem__(slice(80, 90), v[80:90] + RAMP)),
        ("off_hours", range(24, 28), lambda v: v.__setitem__(slice(24, 28), [90, 110, 100, 95])),
    ],
)
def test_each_injected_anomaly_gets_its_type(kind, positions, edit):
    """Spike, dip, drop to zero, stuck readings, level shift and night over-use are told apart."""
    values, expected = base()
    edit(values)
    scored = scored_for(values, expected)
    events = find_events(scored, flags_at(scored, positions), freq="1h", unit="kWh")
    assert len(events) == 1
    assert events["type"].iloc[0] == kind
    assert kind in TYPES


def test_causes_read_like_sentences():
    """Causes name the weekday and hour, the ratio, the stuck value or the missing energy."""
    values, expected = base()
    values[24 + 3] = 96.0  # Tuesday 03:00, 2.4x the night load of 40
    values[33:38] = 0.0  # Tuesday 09:00-14:00, five hours at zero where 120 was expected
    values[56:62] = 41.2  # Wednesday, stuck
    scored = scored_for(values, expected)
    flags = flags_at(scored, [27, *range(33, 38), *range(56, 62)])
    events = find_events(scored, flags, freq="1h", unit="kWh")
    causes = events.set_index("type")["cause"]
    assert causes["off_hours"].startswith("Tuesday 03:00: 2.4× the usual night load")
    assert causes["drop_to_zero"] == "Dropped to zero for 5 hours while 120 kWh/h was expected"
    assert causes["flat"] == "Readings stuck at 41.2 kWh for 6 hours (possible meter fault)"


def test_excess_is_signed_energy_for_energy_units():
    """For kWh readings, excess is the plain sum of value - expected over the event."""
    values, expected = base()
    values[33:38] = 0.0
    values[60] = 300.0
    scored = scored_for(values, expected)
    events = find_events(scored, flags_at(scored, [*range(33, 38), 60]), freq="1h", unit="kWh")
    assert events["excess"].tolist() == pytest.approx([-600.0, 180.0])
    assert events["actual"].tolist() == pytest.approx([0.0, 300.0])
    assert events["expected"].tolist() == pytest.approx([600.0, 120.0])
    assert events["duration_h"].tolist() == [5.0, 1.0]


def test_power_units_are_multiplied_by_the_step():
    """For kW readings every 15 minutes, energy is kW x 0.25 h and labelled kWh."""
    idx = pd.date_range("2024-01-01 10:00", periods=16, freq="15min")
    scored = pd.DataFrame(
        {"value": 100.0, "expected": 60.0, "deviation": 40.0, "score": 5.0}, index=idx
    )
    flags = pd.Series([False] * 4 + [True] * 4 + [False] * 8, index=idx)
    events = find_events(scored, flags, freq="15min", unit="kW")
    assert events.attrs["energy_unit"] == "kWh"
    assert events["excess"].iloc[0] == pytest.approx(4 * 40.0 * 0.25)
    assert events["duration_h"].iloc[0] == pytest.approx(1.0)
    assert events["start"].iloc[0] == idx[4] and events["end"].iloc[0] == idx[7]


def test_short_gaps_merge_and_long_gaps_split():
    """Runs separated by at most merge_gap unflagged steps become one event."""
    values, expected = base()
    values[[100, 102, 106]] = 300.0
    scored = scored_for(values, expected)
    flags = flags_at(scored, [100, 102, 106])
    assert len(find_events(scored, flags, freq="1h", unit="kWh", merge_gap=0)) == 3
    merged = find_events(scored, flags, freq="1h", unit="kWh", merge_gap=1)
    assert len(merged) == 2
    assert merged["n_points"].tolist() == [2, 1]
    assert merged["duration_h"].tolist() == [3.0, 1.0]
    assert len(find_events(scored, flags, freq="1h", unit="kWh", merge_gap=3)) == 1
    assert merged["event_id"].tolist() == [1, 2]


def test_peak_score_is_the_largest_score_in_the_event():
    """peak_score reports the strongest point of the event."""
    values, expected = base()
    values[100:104] = [200.0, 400.0, 250.0, 200.0]
    scored = scored_for(values, expected)
    events = find_events(scored, flags_at(scored, range(100, 104)), freq="1h", unit="kWh")
    assert events["peak_score"].iloc[0] == pytest.approx(scored["score"].iloc[100:104].max())


def test_mean_score_is_the_mean_over_the_flagged_readings_only():
    """mean_score averages the flagged readings; a bridged gap (unflagged) does not count."""
    values, expected = base()
    values[[100, 101, 103]] = [200.0, 400.0, 250.0]
    scored = scored_for(values, expected)
    events = find_events(scored, flags_at(scored, [100, 101, 103]), freq="1h", unit="kWh")
    assert len(events) == 1  # the gap at 102 is bridged
    flagged = scored["score"].iloc[[100, 101, 103]]
    assert events["mean_score"].iloc[0] == pytest.approx(flagged.mean())
    assert events["mean_score"].iloc[0] < events["peak_score"].iloc[0]


def test_edges_of_a_fault_do_not_hide_its_type():
    """A drop or a stuck run flagged with one normal reading on each side keeps its type."""
    values, expected = base()
    values[33:43] = 0.0
    values[120:130] = 41.2
    scored = scored_for(values, expected)
    flags = flags_at(scored, [*range(32, 44), *range(119, 131)])
    events = find_events(scored, flags, freq="1h", unit="kWh")
    assert events["type"].tolist() == ["drop_to_zero", "flat"]
    assert "stuck at 41.2 kWh" in events["cause"].iloc[1]
