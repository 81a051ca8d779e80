"""Sub-meters as context: the sub-meter behind an event is named in its cause, in the right units."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.detect.detectors import REGISTRY
from core.detect.events import find_events
from core.detect.pipeline import DetectorSettings
from core.detect.profile import fit_profile
from core.detect.run import detect_events, learn_reference, run_detection
from core.detect.scoring import score_frame
from core.detect.submeters import (
    MIN_SHARE,
    reading_factor,
    submeter_clauses,
    submeter_deviations,
    with_submeter_causes,
)
from core.detect.thresholds import ThresholdSettings
from core.ingest.data import Dataset, parse_upload
from tests.conftest import inject_anomalies, synthetic_frame
from tests.detect.test_detector_contract import EXPECT

UCI = Path("uci_household_hourly") / "household_power_consumption_hourly.csv"


@pytest.fixture(scope="module")
def uci(shared_data: Path) -> Dataset:
    path = shared_data / UCI
    return parse_upload(path.read_bytes(), path.name)


def covering(events: pd.DataFrame, when: str) -> pd.Series:
    t = pd.Timestamp(when)
    hit = events[(events["start"] <= t) & (events["end"] >= t)]
    assert len(hit) == 1, f"no single event covers {when}"
    return hit.iloc[0]


@pytest.mark.parametrize(
    ("name", "unit", "step_h", "factor"),
    [
        ("sub_metering_1", "kW", 1.0, 0.06),  # UCI: Wh per minute, a mean of 60 W each
        ("sub_metering_1", "kW", 0.25, 0.015),
        ("sub_metering_2", "kWh", 1.0, 0.06),
        ("submeter_hvac_kwh", "kWh", 1.0, 1.0),
        ("sub_meter_2_wh", "MWh", 1.0, 1e-6),
        ("sub_meter_2_w", "kW", 0.25, 0.25e-3),
        ("submeter_a", "kW", 0.5, 0.5),  # no unit: the meter's own, a power times the step
        ("submeter_a", "kWh", 0.5, 1.0),
    ],
)
def test_reading_factor_converts_to_the_events_energy_unit(name, unit, step_h, factor) -> None:
    """A unit in the name wins, bare UCI names are Wh per minute, others read like the meter."""
    assert reading_factor(name, unit, step_h) == pytest.approx(factor)


@pytest.mark.golden
def test_real_uci_laundry_event_names_sub_metering_2(uci: Dataset) -> None:
    """On Friday 8 June 2007 from noon the laundry sub-meter ran far above its usual level: the
    event's cause names sub_metering_2 with the energy plain pandas finds (its Friday medians)."""
    found = run_detection(uci.frame, DetectorSettings(), freq=uci.freq, unit=uci.unit)
    event = covering(found.events, "2007-06-08 15:00")
    plain = uci.frame["sub_metering_2"]
    usual = plain.groupby([plain.index.day_of_week, plain.index.hour]).median()
    span = plain[event["start"] : event["end"]]
    keys = list(zip(span.index.day_of_week, span.index.hour, strict=True))
    kwh = float((span.to_numpy() - usual.loc[keys].to_numpy()).sum() * 60 / 1000)
    assert kwh > 3.0
    share = 100 * kwh / event["excess"]
    assert share >= 100 * MIN_SHARE
    assert event["cause"].endswith(
        f"; sub_metering_2 +{kwh:.1f} kWh above its usual level ({share:.0f} % of the excess)"
    )


@pytest.mark.golden
def test_known_extra_load_is_named_with_its_energy(uci: Dataset) -> None:
    """A 2 kW load added overnight to the kitchen sub-meter and to the meter together is named:
    sub_metering_1, about 2 kWh per hour of the event, nearly all of its excess."""
    frame = uci.frame.copy()
    night = slice("2008-10-15 02:00", "2008-10-15 05:00")
    frame.loc[night, "value"] += 2.0  # kW
    frame.loc[night, "sub_metering_1"] += 2000 / 60  # Wh per minute
    found = run_detection(frame, DetectorSettings(), freq=uci.freq, unit=uci.unit)
    event = covering(found.events, "2008-10-15 03:00")
    hours = event["duration_h"]
    devs = submeter_deviations(found.scored, found.events, freq=uci.freq, unit=uci.unit)
    row = devs.loc[event.name]
    assert row.idxmax() == "sub_metering_1"
    assert row["sub_metering_1"] == pytest.approx(2.0 * hours, abs=0.1)
    assert 0.8 <= row["sub_metering_1"] / event["excess"] <= 1.2
    assert "; sub_metering_1 +" in event["cause"]


@pytest.mark.golden
def test_warm_up_reference_holds_the_submeter_profiles(uci: Dataset) -> None:
    """After a warm-up the sub-meters are judged by profiles learned on the warm-up alone."""
    warm = uci.frame.iloc[: 24 * 7 * 8]
    detector = REGISTRY["seasonal_naive"]().fit(warm)
    ref = learn_reference(detector, warm, ThresholdSettings())
    assert sorted(ref.submeters) == ["sub_metering_1", "sub_metering_2", "sub_metering_3"]
    later = uci.frame.index[-500:]
    own = fit_profile(warm["sub_metering_3"]).expected(later)
    assert ref.submeters["sub_metering_3"].expected(later) == pytest.approx(own)


def small_case(sub_kwh: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A flat 10 kWh meter with two flat sub-meters; one 5-hour event 10 kWh over, ``sub_kwh`` of
    it on ``submeter_a_kwh`` and 1 kWh on ``submeter_b_kwh``."""
    idx = pd.date_range("2024-01-01", periods=24 * 7 * 3, freq="1h", name="timestamp")
    frame = pd.DataFrame(
        {"value": 10.0, "submeter_a_kwh": 2.0, "submeter_b_kwh": 3.0}, index=idx, dtype=float
    )
    span = slice(idx[300], idx[304])
    frame.loc[span, "value"] += 2.0
    frame.loc[span, "submeter_a_kwh"] += sub_kwh / 5
    frame.loc[span, "submeter_b_kwh"] += 0.2
    scored = frame.assign(expected=10.0, deviation=frame["value"] - 10.0, score=0.0)
    flags = pd.Series(False, index=idx)
    flags[span] = True
    events = find_events(scored, flags, freq="1h", unit="kWh")
    assert events["excess"].tolist() == [pytest.approx(10.0)]
    return scored, events


@pytest.mark.parametrize(("sub_kwh", "clause"), [(2.0, ""), (6.0, "submeter_a_kwh +6.0 kWh")])
def test_a_submeter_is_named_only_past_the_minimum_share(sub_kwh: float, clause: str) -> None:
    """20 % of the excess names nothing; 60 % names the sub-meter with its energy and share."""
    scored, events = small_case(sub_kwh)
    out = submeter_clauses(scored, events, freq="1h", unit="kWh").iloc[0]
    if clause:
        assert out == f"{clause} above its usual level (60 % of the excess)"
    else:
        assert out == ""


def test_causes_keep_their_own_sentence_and_the_energy_unit() -> None:
    """The clause is appended after '; ' and the events keep their columns and energy unit."""
    scored, events = small_case(6.0)
    out = with_submeter_causes(events, scored, freq="1h", unit="kWh")
    assert list(out.columns) == list(events.columns)
    assert out.attrs["energy_unit"] == "kWh"
    own = events["cause"].iloc[0]
    assert (
        out["cause"].iloc[0]
        == own + "; submeter_a_kwh +6.0 kWh above its usual level (60 % of the excess)"
    )
    assert events["cause"].iloc[0] == own  # the caller's frame is not changed


def test_frame_without_submeters_gives_the_events_find_events_gives(anomalous_frame) -> None:
    """No sub-meter column: detect_events' events are find_events' own, object for object."""
    frame, _ = anomalous_frame
    detector = REGISTRY["seasonal_naive"]().fit(frame)
    scored = score_frame(detector, frame)
    found = detect_events(scored, ThresholdSettings(), freq="1h", unit="kWh")
    plain = find_events(scored, found.flags, freq="1h", unit="kWh")
    pd.testing.assert_frame_equal(found.events, plain)
    assert with_submeter_causes(plain, scored, freq="1h", unit="kWh") is plain


NAMES = [pytest.param(n, marks=pytest.mark.slow) if EXPECT[n][2] else n for n in sorted(REGISTRY)]


@pytest.mark.parametrize("name", NAMES)
def test_submeter_columns_do_not_change_scores(name: str) -> None:
    """Every detector scores a frame with sub-meter columns exactly as the frame without them."""
    frame, _ = inject_anomalies(synthetic_frame())
    rng = np.random.default_rng(3)
    with_subs = frame.assign(
        sub_metering_1=rng.gamma(1.0, 5.0, len(frame)),
        submeter_hvac_kwh=rng.normal(20.0, 4.0, len(frame)),
    )
    plain = REGISTRY[name](**EXPECT[name][0]).fit(frame).score(frame)
    extra = REGISTRY[name](**EXPECT[name][0]).fit(with_subs).score(with_subs)
    np.testing.assert_array_equal(plain.to_numpy(), extra.to_numpy())
