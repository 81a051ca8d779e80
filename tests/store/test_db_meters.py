"""Meter operations on both engines: import (idempotent, merged, conflict policies), load, list, delete."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, insert, select

from core.errors import DataError
from core.store.meters import SqlMeterRepository
from core.store.schema import meters as meters_table
from core.store.schema import readings, uploads
from core.store.uploads import Upload, blob_path
from tests.store.conftest import hourly

HOUR = pd.Timedelta("1h")


def test_import_then_load_gives_the_same_frame(meters: SqlMeterRepository) -> None:
    """A frame with a covariate and missing values loads back equal, freq included."""
    frame = hourly(72)
    frame.iloc[[3, 10], 0] = np.nan
    frame.iloc[[5], 1] = np.nan
    result = meters.import_frame("m", frame, unit="kWh", step=HOUR)
    assert (result.created, result.inserted, result.unchanged, result.conflicting) == (
        True,
        72,
        0,
        0,
    )
    back = meters.load("m")
    pd.testing.assert_frame_equal(back, frame)
    assert back.index.freq == pd.tseries.frequencies.to_offset("1h")


def test_time_zone_survives_the_round_trip(meters: SqlMeterRepository) -> None:
    """Readings in a time zone come back in it, across a DST change, at the same instants."""
    frame = hourly(24 * 4, "2024-03-29", tz="Europe/Paris")
    meters.import_frame("paris", frame, step=HOUR)
    back = meters.load("paris")
    assert str(back.index.tz) == "Europe/Paris"
    pd.testing.assert_frame_equal(back, frame)
    assert meters.get("paris").timezone == "Europe/Paris"


def test_reimport_changes_nothing_and_says_so(meters: SqlMeterRepository, store) -> None:
    """Importing the same frame twice leaves the table as it was and reports nothing changed."""
    frame = hourly(100)
    meters.import_frame("m", frame)
    again = meters.import_frame("m", frame)
    assert (again.created, again.inserted, again.unchanged, again.conflicting) == (
        False,
        0,
        100,
        0,
    )
    assert not again.changed and "nothing changed" in again.message()
    with store.reading() as conn:
        assert conn.scalar(select(func.count()).select_from(readings)) == 100


def test_append_merges_by_timestamp(meters: SqlMeterRepository) -> None:
    """A newer, overlapping file adds only its new readings; the overlap counts as unchanged."""
    full = hourly(200)
    meters.import_frame("m", full.iloc[:120])
    result = meters.import_frame("m", full.iloc[80:])
    assert (result.inserted, result.unchanged, result.conflicting) == (80, 40, 0)
    pd.testing.assert_frame_equal(meters.load("m"), full)


def _conflicting(full: pd.DataFrame) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """The second half of ``full`` plus 10 more hours, with 3 overlapping values changed."""
    newer = hourly(len(full) + 10).iloc[len(full) // 2 :].copy()
    changed = newer.index[[0, 5, 9]]
    newer.loc[changed, "value"] += 100.0
    return newer, changed


@pytest.mark.parametrize("policy", ["keep", "replace", "skip"])
def test_conflict_policies(meters: SqlMeterRepository, policy: str) -> None:
    """keep leaves stored values, replace takes the file's, skip writes nothing; all report the same conflicts."""
    full = hourly(40)
    meters.import_frame("m", full)
    newer, changed = _conflicting(full)
    result = meters.import_frame("m", newer, on_conflict=policy)
    assert (result.inserted, result.unchanged, result.conflicting) == (10, 17, 3)
    assert list(result.conflicts) == list(changed)
    back = meters.load("m")
    if policy == "skip":
        assert result.skipped and not result.changed and "nothing imported" in result.message()
        pd.testing.assert_frame_equal(back, full)
        return
    assert len(back) == 50
    expected = newer.loc[changed, "value"] if policy == "replace" else full.loc[changed, "value"]
    pd.testing.assert_series_equal(back.loc[changed, "value"], expected)
    assert result.replaced == (3 if policy == "replace" else 0)


def test_a_different_covariate_is_a_conflict(meters: SqlMeterRepository) -> None:
    """Same value but another temperature is reported as a conflict, not silently kept."""
    frame = hourly(10)
    meters.import_frame("m", frame)
    other = frame.copy()
    other.iloc[4, 1] += 1.0
    result = meters.import_frame("m", other)
    assert result.conflicting == 1 and result.conflicts[0] == frame.index[4]


def test_a_missing_value_equals_a_missing_value(meters: SqlMeterRepository) -> None:
    """NaN stored and NaN imported are the same reading (NULL-safe comparison)."""
    frame = hourly(10)
    frame.iloc[2, 0] = np.nan
    meters.import_frame("m", frame)
    assert meters.import_frame("m", frame).unchanged == 10


def test_import_refuses_a_different_unit_step_or_kind_of_time(meters: SqlMeterRepository) -> None:
    """A meter keeps its unit, step and time-zone kind: mixing them raises one DataError line."""
    meters.import_frame("m", hourly(10), unit="kWh", step=HOUR)
    with pytest.raises(DataError, match="is in kWh"):
        meters.import_frame("m", hourly(10), unit="MWh")
    with pytest.raises(DataError, match="1h step"):
        meters.import_frame("m", hourly(10), step=pd.Timedelta("15min"))
    with pytest.raises(DataError, match="no time zone"):
        meters.import_frame("m", hourly(10, tz="UTC"))
    assert len(meters.load("m")) == 10


def test_bad_frames_are_refused_before_anything_is_written(meters: SqlMeterRepository) -> None:
    """Duplicate timestamps, text covariates and a bad policy raise DataError and store nothing."""
    frame = hourly(5)
    with pytest.raises(DataError, match="duplicate timestamps"):
        meters.import_frame("m", pd.concat([frame, frame.iloc[:1]]))
    with pytest.raises(DataError, match="not numeric"):
        meters.import_frame("m", frame.assign(site="a"))
    with pytest.raises(DataError, match="on_conflict"):
        meters.import_frame("m", frame, on_conflict="merge")  # type: ignore[arg-type]
    assert meters.list() == []


def test_list_describes_every_meter(meters: SqlMeterRepository) -> None:
    """list() gives each meter's unit, step (given or the index's freq), covariates, count and span."""
    meters.import_frame("b", hourly(30), unit="kWh", step=HOUR, site="HQ")
    meters.import_frame("a", hourly(5, covariates=False), unit="W")
    listed = [m.to_dict() for m in meters.list()]
    assert [m["name"] for m in listed] == ["a", "b"]
    b = listed[1]
    assert (b["unit"], b["step"], b["site"], b["covariates"], b["readings"]) == (
        "kWh",
        "1h",
        "HQ",
        ["temperature"],
        30,
    )
    assert b["first"] == "2024-01-01T00:00:00" and b["last"] == "2024-01-02T05:00:00"
    assert listed[0]["covariates"] == [] and listed[0]["step"] == "1h"  # from the index's freq


def test_load_a_time_range(meters: SqlMeterRepository) -> None:
    """load(start, end) gives the readings with start <= timestamp < end."""
    frame = hourly(48)
    meters.import_frame("m", frame)
    part = meters.load("m", start="2024-01-01 10:00", end="2024-01-01 20:00")
    pd.testing.assert_frame_equal(part, frame.iloc[10:20], check_freq=False)


def test_names_are_unique_per_owner(meters: SqlMeterRepository, store) -> None:
    """A second meter with the same name and no owner is refused by the database itself."""
    meters.import_frame("m", hourly(3))
    with pytest.raises(Exception, match="(?i)unique|duplicate"), store.engine.begin() as conn:
        conn.execute(insert(meters_table).values(name="m", owner=None))
    meters.import_frame("m", hourly(3), owner="alice")
    assert [m.name for m in meters.list(owner="alice")] == ["m"]
    assert len(meters.list()) == 1


def test_upload_is_kept_once_and_deleted_with_its_meter(meters: SqlMeterRepository, store) -> None:
    """The file's bytes go to blobs/<sha256> with one uploads row; delete removes readings, row and blob."""
    upload = Upload(b"timestamp,value\n...", "m.csv", {"timestamp_col": "timestamp"}, {"rows": 3})
    meters.import_frame("m", hourly(20), upload=upload)
    meters.import_frame("m", hourly(20), upload=upload)
    blob = blob_path(store.home, upload.sha256)
    assert blob.read_bytes() == upload.data
    with store.reading() as conn:
        rows = conn.execute(select(uploads.c.filename, uploads.c.schema, uploads.c.report)).all()
    assert [tuple(r) for r in rows] == [("m.csv", {"timestamp_col": "timestamp"}, {"rows": 3})]
    assert meters.delete("m") == 20
    assert not blob.exists()
    with store.reading() as conn:
        assert conn.scalar(select(func.count()).select_from(readings)) == 0
        assert conn.scalar(select(func.count()).select_from(uploads)) == 0
    assert meters.list() == []


def test_delete_keeps_other_meters(meters: SqlMeterRepository) -> None:
    """Deleting one meter leaves another meter's readings whole."""
    meters.import_frame("a", hourly(10))
    meters.import_frame("b", hourly(12))
    meters.delete("a")
    assert [m.name for m in meters.list()] == ["b"]
    assert len(meters.load("b")) == 12


def test_unknown_meter_is_one_line(meters: SqlMeterRepository) -> None:
    """Loading or deleting a meter that does not exist names the stored ones in one DataError line."""
    meters.import_frame("known", hourly(3))
    for call in (meters.load, meters.delete, meters.get):
        with pytest.raises(DataError, match="no meter named 'ghost'.*known"):
            call("ghost")
