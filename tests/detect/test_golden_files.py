"""Real files from ``../shared/data``, read as an upload would arrive, checked against plain pandas."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from core.ingest.data import DataError, parse_upload
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.golden

SERIES = sorted(p for p in SHARED_DATA.rglob("*.csv") if p.name != "metadata.csv")
PJM = {"COMED_hourly.csv": (4, 11), "DAYTON_hourly.csv": (4, 25), "PJME_hourly.csv": (4, 30)}


@pytest.mark.parametrize("path", SERIES, ids=lambda p: p.name)
def test_every_real_series_parses(shared_data: Path, path: Path) -> None:
    """Every real CSV gives a regular frame with all its rows accounted for."""
    ds = parse_upload(path.read_bytes(), path.name)
    f = ds.report.fields
    with path.open(newline="", encoding="utf-8") as fh:
        data_rows = sum(1 for _ in fh) - 1
    assert f["rows"] == data_rows
    assert f["unparseable_timestamps"]["count"] == 0 and f["bad_lines"]["count"] == 0
    assert ds.frame.index.is_monotonic_increasing and ds.frame.index.is_unique
    assert (ds.frame.index.to_series().diff().dropna() == ds.freq).all()
    assert f["valid_points"] + f["missing_after_cleaning"] == f["points"] == len(ds.frame)


def test_metadata_table_is_refused_with_its_columns(shared_data: Path) -> None:
    """LEAD's metadata.csv is not a time series: one line naming its columns."""
    path = shared_data / "lead_dev" / "metadata.csv"
    with pytest.raises(
        DataError,
        match=r"^No timestamp column found in metadata.csv \(columns: site_id, building_id",
    ):
        parse_upload(path.read_bytes(), path.name)


@pytest.mark.parametrize("name", sorted(PJM))
def test_pjm_daylight_saving_duplicates_and_gaps(shared_data: Path, name: str) -> None:
    """PJM files report exactly the duplicated and missing hours plain pandas finds."""
    path = shared_data / "pjm_hourly" / name
    plain = pd.read_csv(path)
    ts = pd.to_datetime(plain.iloc[:, 0])
    dups = int(ts.duplicated().sum())
    full = pd.date_range(ts.min(), ts.max(), freq="1h")
    missing = len(full.difference(pd.DatetimeIndex(ts.unique())))
    assert (dups, missing) == PJM[name]
    ds = parse_upload(path.read_bytes(), name)
    f = ds.report.fields
    assert f["duplicate_timestamps"]["count"] == dups
    assert f["duplicate_timestamps"]["dst_fall_back"] == dups
    assert f["gaps"]["missing_steps"] == missing and f["gaps"]["longest_steps"] == 1
    assert (ds.unit, f["unit_source"], f["step"]) == ("MW", "column name", "1h")
    assert any(
        c.startswith(f"Averaged {dups} duplicated timestamps (daylight-saving fall-back hours)")
        for c in ds.report.changes
    )
    assert len(ds.frame) == len(full)


def test_comed_spring_forward_hours(shared_data: Path) -> None:
    """COMED misses the 03:00 hour on each March changeover Sunday 2011-2018 (8 of its 11 gaps)."""
    ds = parse_upload(
        (shared_data / "pjm_hourly" / "COMED_hourly.csv").read_bytes(), "COMED_hourly.csv"
    )
    assert ds.report.fields["gaps"]["dst_spring_forward"] == 8
    assert ds.report.fields["gaps"]["examples"][0] == {
        "start": "2011-03-13 03:00",
        "end": "2011-03-13 03:00",
        "steps": 1,
    }


def test_day_first_copy_gives_the_same_timestamps(shared_data: Path) -> None:
    """The day-first, reordered COMED copy parses to the same instants and values as the ISO file."""
    iso = parse_upload(
        (shared_data / "pjm_hourly" / "COMED_hourly.csv").read_bytes(), "COMED_hourly.csv"
    )
    raw_path = shared_data / "pjm_hourly" / "COMED_hourly_dayfirst_raw.csv"
    dmy = parse_upload(raw_path.read_bytes(), raw_path.name)
    assert dmy.report.fields["timestamp_format"] == "day-first (%d-%m-%Y %H:%M)"
    assert set(dmy.raw["Datetime"]) == set(iso.raw["Datetime"])
    assert dmy.frame.index.equals(iso.frame.index)
    pd.testing.assert_series_equal(dmy.frame["value"], iso.frame["value"])
    plain = pd.to_datetime(pd.read_csv(raw_path)["Datetime"], format="%d-%m-%Y %H:%M")
    assert dmy.report.fields["unsorted_rows"] == int((plain.diff() < pd.Timedelta(0)).sum()) > 0


@pytest.mark.parametrize(
    "path", sorted((SHARED_DATA / "lead_dev").glob("building_*.csv")), ids=lambda p: p.stem
)
def test_lead_missing_hours_and_labels(shared_data: Path, path: Path) -> None:
    """Missing hours equal the empty meter_reading cells; ``anomaly`` is the label, unchanged."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    empty = sum(1 for r in rows if r["meter_reading"].strip() == "")
    positives = sum(1 for r in rows if r["anomaly"].strip() == "1")
    ds = parse_upload(path.read_bytes(), path.name)
    f = ds.report.fields
    assert f["missing_total"] == empty + f["gaps"]["missing_steps"]
    assert f["gaps"]["missing_steps"] == 0 and f["missing_values"] == empty
    assert f["label_col"] == "anomaly" and ds.has_labels
    assert int(ds.frame["label"].sum()) == positives
    assert (f["meter_col"], f["meter_count"], f["unit"]) == ("building_id", 1, "kWh")
    assert len(ds.frame) == 8784


def test_polito_building_keeps_temperature(shared_data: Path) -> None:
    """The Polito file: 15-min kW load with outdoor temperature renamed ``temperature``."""
    path = shared_data / "polito_building_2019" / "building_load_temp.csv"
    ds = parse_upload(path.read_bytes(), path.name)
    assert (ds.unit, ds.report.fields["unit_source"], ds.report.fields["step"]) == (
        "kW",
        "assumed from a power column",
        "15min",
    )
    plain = pd.read_csv(io.BytesIO(path.read_bytes()))
    assert ds.frame["temperature"].tolist() == plain["temp"].tolist()
