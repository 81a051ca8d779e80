"""The per-meter function: the one detection run's events, summed up into one portfolio row."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from core.detect.pipeline import DetectorSettings
from core.detect.run import run_detection
from core.detect.thresholds import ThresholdSettings
from core.fleet.portfolio import COLUMNS, FleetSettings, MeterInput, score_meter, with_cost
from tests.fleet.conftest import BUILDINGS, meter_input


@pytest.mark.parametrize("building", BUILDINGS)
def test_fleet_events_equal_run_detection(building: str) -> None:
    """A meter scored in the fleet gets exactly the events run_detection gives it on its own."""
    meter = meter_input(building)
    alone = run_detection(meter.frame, DetectorSettings(), freq=meter.freq, unit=meter.unit)
    result = score_meter(meter)
    pd.testing.assert_frame_equal(result.events, alone.events)
    assert result.row.events == alone.n_events > 0
    assert result.row.anomaly_hours == alone.n_flagged  # hourly readings


def test_other_settings_reach_the_run() -> None:
    """The fleet's detector and threshold are the run's: a stricter k finds fewer flags."""
    meter = meter_input("118")
    strict = FleetSettings(DetectorSettings("rolling_z"), ThresholdSettings(k=4.0))
    alone = run_detection(
        meter.frame, strict.detector, strict.threshold, freq=meter.freq, unit=meter.unit
    )
    result = score_meter(meter, strict)
    pd.testing.assert_frame_equal(result.events, alone.events)
    assert result.row.anomaly_hours < score_meter(meter).row.anomaly_hours


def test_row_sums_up_the_events() -> None:
    """Over- and under-use split the events' net excess; the worst deviates most in energy."""
    meter = meter_input("121")
    result = score_meter(meter)
    row, events = result.row, result.events
    assert tuple(row.to_dict()) == COLUMNS
    assert row.excess_over_kwh >= 0 and row.excess_under_kwh > 0
    assert row.excess_over_kwh - row.excess_under_kwh == pytest.approx(events["excess"].sum())
    worst = events.loc[events["excess"].abs().idxmax()]
    assert (row.worst_type, row.worst_cause) == (worst["type"], worst["cause"])
    assert row.worst_start == worst["start"] and row.worst_excess_kwh == worst["excess"]
    week = row.last_reading - pd.Timedelta(days=7)
    assert row.open_events == int((events["end"] >= week).sum())
    assert row.last_reading == meter.frame.index[-1]
    assert (row.points, row.start, row.end) == (
        len(meter.frame),
        meter.frame.index[0],
        meter.frame.index[-1],
    )


def test_energy_is_counted_in_kwh() -> None:
    """A meter in MWh reports its excess in kWh (x1000), so meters in other units compare."""
    meter = meter_input("118")
    in_mwh = dataclasses.replace(meter, unit="MWh")
    result = score_meter(in_mwh)
    assert result.energy_unit == "MWh"
    net = result.row.excess_over_kwh - result.row.excess_under_kwh
    assert net == pytest.approx(result.events["excess"].sum() * 1000)


def test_quality_missing_share_flat_runs_and_last_reading() -> None:
    """Missing readings, a stuck register and a dead tail show in the row's quality columns."""
    meter = meter_input("697")
    frame = meter.frame.copy()
    values = frame["value"].to_numpy().copy()
    values[100:110] = np.nan
    values[500:512] = 7.25  # twelve identical readings: a stuck meter
    values[-5:] = np.nan
    frame["value"] = values
    row = score_meter(MeterInput("697", frame, meter.freq, meter.unit)).row
    assert row.missing_share == pytest.approx(15 / len(frame))
    assert row.flat_runs >= 1
    assert row.last_reading == frame.index[-6]


def test_sparkline_is_the_mean_per_day() -> None:
    """The sparkline holds the last sparkline_days daily means, newest last."""
    meter = meter_input("1074")
    row = score_meter(meter, FleetSettings(sparkline_days=14)).row
    daily = meter.frame["value"].groupby(meter.frame.index.normalize()).mean()
    assert len(row.sparkline) == 14
    assert row.sparkline == pytest.approx(tuple(daily.iloc[-14:]), rel=1e-6)


def test_cost_is_over_use_times_the_tariff() -> None:
    """with_cost prices only over-use; a negative tariff is refused."""
    rows = pd.DataFrame({"excess_over_kwh": [100.0, 0.0, None]})
    assert with_cost(rows, 0.3)["cost"].tolist()[:2] == [pytest.approx(30.0), 0.0]
    with pytest.raises(ValueError, match="tariff"):
        with_cost(rows, -1.0)
