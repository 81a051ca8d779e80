"""Public holidays: a day off on a holiday is its own, named event type, or normal with one setting."""

from __future__ import annotations

import pandas as pd
import pytest

from core.__main__ import main
from core.detect.holidays import guess_country, holiday_names
from core.detect.pipeline import DetectorSettings
from core.detect.run import run_detection
from core.detect.thresholds import ThresholdSettings
from tests.conftest import synthetic_frame

EASTER_MONDAY = pd.Timestamp("2023-04-10")


@pytest.fixture(scope="module")
def easter() -> pd.DataFrame:
    """Four months of a weekday-busy building whose Easter Monday looks like a Sunday."""
    frame = synthetic_frame(n_days=120)
    day = frame.index.normalize() == EASTER_MONDAY
    frame.loc[day, "value"] = frame.loc[day, "value"] * 0.4
    return frame


def test_time_zone_gives_the_country():
    """The IANA time zone of a meter names its country; a zone without one gives None."""
    assert guess_country("Europe/Amsterdam") == "NL"
    assert guess_country("Europe/Rome") == "IT"
    assert guess_country("UTC") is None and guess_country(None) is None


def test_holiday_names_cover_the_whole_day():
    """Every reading of Easter Monday carries its name, the day after none."""
    idx = pd.date_range("2023-04-10", periods=48, freq="1h")
    names = holiday_names(idx, "NL")
    assert set(names.iloc[:24]) == {"Easter Monday"} and set(names.iloc[24:]) == {""}


def test_a_quiet_holiday_is_a_named_holiday_event(easter):
    """With the country set, the low Easter Monday is typed 'holiday' and named, with how far below."""
    found = run_detection(
        easter, DetectorSettings(), ThresholdSettings(country="NL"), freq="1h", unit="kWh"
    )
    day_end = EASTER_MONDAY + pd.Timedelta(days=1)
    on_easter = found.events[
        (found.events["start"] < day_end) & (found.events["end"] >= EASTER_MONDAY)
    ]
    assert len(on_easter) and set(on_easter["type"]) == {"holiday"}
    cause = on_easter["cause"].iloc[0]
    assert cause.startswith("Easter Monday: ") and "below a usual Monday" in cause
    without = run_detection(easter, DetectorSettings(), ThresholdSettings(), freq="1h", unit="kWh")
    assert "holiday" not in set(without.events["type"])


def test_holidays_counted_as_normal_are_never_flagged(easter):
    """One setting turns holidays into normal days: no flag on them, other events unchanged."""
    base = ThresholdSettings(country="NL")
    shown = run_detection(easter, DetectorSettings(), base, freq="1h", unit="kWh")
    quiet = run_detection(
        easter,
        DetectorSettings(),
        ThresholdSettings(country="NL", holidays_normal=True),
        freq="1h",
        unit="kWh",
    )
    holiday = holiday_names(easter.index, "NL") != ""  # Easter Sunday and Monday, Good Friday...
    on_easter = easter.index.normalize() == EASTER_MONDAY
    assert shown.flags[on_easter].any() and not quiet.flags[holiday].any()
    assert (quiet.flags[~holiday] == shown.flags[~holiday]).all()


def test_unknown_country_is_refused_in_words():
    """A country the holidays package does not know is a ValueError that says what to give."""
    with pytest.raises(ValueError, match="ISO code"):
        ThresholdSettings(country="Narnia")


def test_cli_takes_the_country(tmp_path, monkeypatch, capsys):
    """``detect --country NL`` lists the holiday event; a bad code exits 2 with one line."""
    frame = synthetic_frame(n_days=120)
    day = frame.index.normalize() == EASTER_MONDAY
    frame.loc[day, "value"] *= 0.4
    path = tmp_path / "meter.csv"
    frame.reset_index().to_csv(path, index=False)
    monkeypatch.setenv("WATTSUP_MODELS_DIR", str(tmp_path / "m"))
    out = tmp_path / "events.csv"
    args = ["detect", str(path), "--out", str(out)]
    assert main([*args, "--country", "NL"]) == 0
    assert "holiday" in set(pd.read_csv(out)["type"])
    assert main([*args, "--country", "Narnia"]) == 2
    assert "ISO code" in capsys.readouterr().err


def test_a_region_adds_its_own_holidays():
    """ "US-IL" (ISO 3166-2) adds Illinois' Casimir Pulaski Day to the federal holidays; a region a
    country lacks is refused with the choices; the picker lists countries by name."""
    from core.detect.holidays import check_country, country_names, regions

    idx = pd.date_range("2023-03-06", periods=24, freq="1h")  # first Monday of March
    assert set(holiday_names(idx, "US-IL")) == {"Casimir Pulaski Day"}
    assert set(holiday_names(idx, "US")) == {""}
    assert check_country("us-il") == "US-IL" and regions("DE")["BY"] == "Bayern"
    with pytest.raises(ValueError, match="unknown region"):
        check_country("NL-XX")
    assert country_names()["NL"] == "Netherlands" and "ABW" not in country_names()
