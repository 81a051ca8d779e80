"""Multi-year data: the expectation follows the yearly pattern, so summers stop being anomalies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.detect.pipeline import DetectorSettings
from core.detect.profile import (
    DAYS_IN_YEAR,
    YEAR_MIN_DAYS,
    day_of_year,
    fit_profile,
    year_pattern,
)
from core.detect.run import run_detection
from core.ingest.data import Dataset, parse_upload

REPO = Path(__file__).resolve().parents[2]
COMED = REPO / "sample_data" / "pjm_comed_hourly.csv"  # 8 years of hourly PJM COMED load, MW
SUMMER = (6, 7, 8)


@pytest.fixture(scope="module")
def comed() -> Dataset:
    return parse_upload(COMED.read_bytes(), COMED.name)


def test_under_two_years_the_profile_is_the_week_profile_alone(shared_data: Path) -> None:
    """A year of a LEAD building: no yearly pattern, the usual reading is its weekday x hour median."""
    path = shared_data / "lead_dev" / "building_118.csv"
    ds = parse_upload(path.read_bytes(), path.name)
    v = ds.frame["value"]
    profile = fit_profile(v)
    assert profile.year is None
    plain = v.groupby([v.index.dayofweek, v.index.hour]).median()
    keys = list(zip(v.index.dayofweek, v.index.hour, strict=True))
    assert np.allclose(profile.expected(v.index), plain.loc[keys].to_numpy())
    short = v.iloc[: 24 * (YEAR_MIN_DAYS - 1)]
    assert year_pattern(short - short.median()) is None


def test_multi_year_expectation_follows_summer(comed: Dataset) -> None:
    """Eight years of COMED: July's usual reading is July's level (within 5 %), where the week
    profile alone misses it by over 10 %; the band is wider in summer, when load varies more."""
    v = comed.frame["value"]
    profile = fit_profile(v)
    week_only = fit_profile(v, yearly=False)
    assert profile.year is not None
    level, scale = profile.year
    assert level.shape == scale.shape == (DAYS_IN_YEAR,)
    july = v.index.month == 7
    actual = float(v[july].median())
    assert abs(float(np.median(profile.expected(v.index[july]))) / actual - 1) < 0.05
    assert abs(float(np.median(week_only.expected(v.index[july]))) / actual - 1) > 0.10
    band = profile.band(v.index)
    width = (band["upper"] - band["lower"]).groupby(v.index.month).median()
    assert width[7] > 1.2 * width[4]


def test_summers_are_not_the_anomalies_of_multi_year_load(comed: Dataset) -> None:
    """The default detector on eight years of COMED load: most events used to start in June to
    August (nearly every summer: 90 of 131); following the yearly pattern, under a third do."""
    found = run_detection(comed.frame, DetectorSettings(), freq=comed.freq, unit=comed.unit)
    events = found.events
    assert len(events) > 20  # still finds things
    summer = events["start"].dt.month.isin(SUMMER)
    assert summer.mean() < 1 / 3, events["start"].dt.month.value_counts().sort_index().to_dict()


def test_day_of_year_folds_the_leap_day_into_the_year() -> None:
    index = pd.DatetimeIndex(["2016-01-01", "2016-12-30", "2016-12-31", "2017-12-31"])
    assert day_of_year(index).tolist() == [0, 364, 364, 364]
