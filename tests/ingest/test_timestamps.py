"""Timestamps: ISO, day-first, Unix, time zones, and unreadable cells reported by line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.ingest.data import Schema, parse_upload
from core.ingest.timestamps import epoch_unit


def table(stamps: list[str], values: list[float] | None = None, header: str = "time,kwh") -> bytes:
    values = values if values is not None else [float(i % 7) + 1 for i in range(len(stamps))]
    return (
        header + "\n" + "\n".join(f"{t},{v}" for t, v in zip(stamps, values, strict=True)) + "\n"
    ).encode()


HOURS = pd.date_range("2011-12-31 01:00", periods=60, freq="1h")


def test_day_first_is_detected_from_days_above_twelve() -> None:
    """``31-12-2011 01:00`` parses day-first, giving the same instants as ISO."""
    ds = parse_upload(table([f"{t:%d-%m-%Y %H:%M}" for t in HOURS]), "d.csv")
    assert ds.report.fields["timestamp_format"] == "day-first (%d-%m-%Y %H:%M)"
    assert ds.frame.index[0] == pd.Timestamp("2011-12-31 01:00")
    assert ds.frame.index[-1] == HOURS[-1]


def test_month_first_when_second_field_exceeds_twelve() -> None:
    """``12/31/2011`` parses month-first."""
    ds = parse_upload(table([f"{t:%m/%d/%Y %H:%M}" for t in HOURS]), "m.csv")
    assert ds.report.fields["timestamp_format"] == "month-first (%m/%d/%Y %H:%M)"
    assert list(ds.frame.index) == list(HOURS)


def test_ambiguous_day_first_dates_say_so() -> None:
    """When no field exceeds 12, day-first is used and a warning says the dates were ambiguous."""
    stamps = pd.date_range("2024-01-01", periods=60, freq="1h")
    ds = parse_upload(table([f"{t:%d.%m.%Y %H:%M}" for t in stamps]), "a.csv")
    assert ds.report.fields["timestamp_format"] == "day-first (%d.%m.%Y %H:%M)"
    assert any("ambiguous" in w for w in ds.report.warnings)
    assert list(ds.frame.index) == list(stamps)


@pytest.mark.parametrize(("scale", "layout"), [(1, "unix seconds"), (1000, "unix milliseconds")])
def test_unix_epochs(scale: int, layout: str) -> None:
    """Integer epochs in seconds or milliseconds become UTC timestamps."""
    secs = [int(t.timestamp()) * scale for t in HOURS]
    ds = parse_upload(table([str(s) for s in secs], header="timestamp,kwh"), "u.csv")
    assert ds.report.fields["timestamp_format"] == layout
    assert ds.report.fields["timezone"] == "UTC"
    assert ds.frame.index[0] == pd.Timestamp("2011-12-31 01:00", tz="UTC")


def test_offsets_are_kept_or_converted() -> None:
    """A fixed UTC offset is kept as given; Schema.tz converts it."""
    stamps = [f"{t:%Y-%m-%dT%H:%M:%S}+01:00" for t in HOURS]
    ds = parse_upload(table(stamps), "z.csv")
    assert ds.report.fields["timezone"] == "UTC+01:00"
    assert ds.frame.index[0].hour == 1
    ds = parse_upload(table(stamps), "z.csv", Schema(tz="UTC"))
    assert ds.report.fields["timezone"] == "UTC"
    assert ds.frame.index[0] == pd.Timestamp("2011-12-31 00:00", tz="UTC")


def test_mixed_offsets_across_daylight_saving_become_utc() -> None:
    """Offsets that change with daylight saving cannot share a column: converted to UTC, said so."""
    idx = pd.date_range("2024-03-30", periods=72, freq="1h", tz="Europe/Paris")
    stamps = [t.isoformat() for t in idx]
    ds = parse_upload(table(stamps), "dst.csv")
    assert ds.report.fields["timezone"] == "UTC"
    assert ds.report.fields["gaps"]["count"] == 0
    assert any("different UTC offsets" in w for w in ds.report.warnings)


def test_naive_times_are_read_as_local_time_in_schema_tz() -> None:
    """Schema.tz localises naive times: a repeated fall-back hour becomes two instants, in order."""
    idx = pd.date_range("2014-11-01", periods=72, freq="1h")
    stamps = [str(t) for t in idx]
    stamps.insert(26, "2014-11-02 01:00:00")  # second 01:00 of the fall-back night
    ds = parse_upload(table(stamps), "n.csv", Schema(tz="America/Chicago"))
    f = ds.report.fields
    assert f["timezone"] == "America/Chicago"
    assert (f["duplicate_timestamps"]["count"], f["gaps"]["count"], len(ds.frame)) == (0, 0, 73)
    assert "Timestamps read as local time in America/Chicago." in ds.report.warnings


def test_spring_forward_times_that_never_existed_are_reported() -> None:
    """A local time skipped by the clock change cannot be placed: reported as unreadable."""
    stamps = [str(t) for t in pd.date_range("2016-03-12", periods=72, freq="1h")]
    ds = parse_upload(table(stamps), "s.csv", Schema(tz="America/Chicago"))
    assert ds.report.fields["unparseable_timestamps"]["lines"] == [28]
    assert (
        "1 timestamps do not exist in America/Chicago (clocks moved forward) and were treated as unreadable."
        in ds.report.warnings
    )
    assert ds.report.fields["gaps"]["count"] == 0


def test_unknown_time_zone() -> None:
    """A misspelt zone name is one clear line."""
    from core.ingest.data import DataError

    with pytest.raises(DataError, match=r"^Time zone 'Mars/Olympus' is not known"):
        parse_upload(table([str(t) for t in HOURS]), "z.csv", Schema(tz="Mars/Olympus"))


def test_unparseable_timestamps_are_ignored_and_reported_with_file_lines() -> None:
    """Rows with unreadable or empty times are dropped from the frame and listed by file line."""
    stamps = [str(t) for t in HOURS]
    stamps[3] = "not a time"
    stamps[10] = ""
    ds = parse_upload(table(stamps), "u.csv")
    bad = ds.report.fields["unparseable_timestamps"]
    assert bad == {"count": 2, "lines": [5, 12], "examples": ["not a time", "(empty)"]}
    assert ds.report.fields["row_numbering"] == "file line (header is line 1)"
    assert ds.report.fields["gaps"]["missing_steps"] == 2
    assert len(ds.raw) == 60


def test_json_unparseable_rows_use_record_numbers() -> None:
    """For JSON the numbers are record positions from 1."""
    recs = [{"timestamp": str(t), "kwh": 1.0 + i % 5} for i, t in enumerate(HOURS)]
    recs[0]["timestamp"] = "yesterday-ish"
    ds = parse_upload(json.dumps(recs).encode(), "r.json")
    assert ds.report.fields["unparseable_timestamps"]["lines"] == [1]


def test_a_timestamp_column_with_no_readable_time() -> None:
    """Choosing a column that holds no dates names it and the first line."""
    from core.ingest.data import DataError

    with pytest.raises(
        DataError,
        match=r"^No value in timestamp column 'kwh' of t.csv reads as a date/time \(e.g. '1.0' on file line 2\)",
    ):
        parse_upload(
            table([str(t) for t in HOURS]), "t.csv", Schema(timestamp_col="kwh", value_col="time")
        )


def test_separate_date_and_time_columns_are_combined() -> None:
    """``Date;Time`` exports (UCI style, day-first dates) give full timestamps, and say which column."""
    idx = pd.date_range("2024-01-01", periods=60, freq="1h")
    text = "Date;Time;Global_active_power\n" + "\n".join(
        f"{t:%d/%m/%Y};{t:%H:%M};{i % 7 + 1}" for i, t in enumerate(idx)
    )
    ds = parse_upload(text.encode(), "uci.csv")
    f = ds.report.fields
    assert (f["timestamp_col"], f["time_col"], f["step"]) == ("Date", "Time", "1h")
    assert f["timestamp_format"] == "day-first (%d/%m/%Y) date + time of day from column 'Time'"
    assert list(ds.frame.index) == list(idx)


def test_too_few_points_after_cleaning() -> None:
    """Enough rows but too few distinct steps (here: dates only) is refused after cleaning."""
    from core.ingest.data import DataError

    stamps = [f"2024-01-0{1 + i // 24}" for i in range(72)]
    with pytest.raises(
        DataError,
        match=r"^Only 3 valid readings in d.csv after cleaning \(step 1D\); at least 48 are needed: upload a longer period or a finer step.$",
    ):
        parse_upload(table(stamps, header="date,kwh"), "d.csv")


def test_year_first_with_slashes_and_utc_z() -> None:
    """``2024/01/31 13:00`` and ``2024-01-31T13:00:00Z`` both parse with an explicit layout."""
    idx = pd.date_range("2024-01-30", periods=60, freq="1h")
    ds = parse_upload(table([f"{t:%Y/%m/%d %H:%M}" for t in idx]), "y.csv")
    assert ds.report.fields["timestamp_format"] == "year-first (%Y/%m/%d %H:%M)"
    assert list(ds.frame.index) == list(idx)
    ds = parse_upload(table([f"{t:%Y-%m-%dT%H:%M:%S}Z" for t in idx]), "z.csv")
    assert ds.report.fields["timezone"] == "UTC" and ds.frame.index[0] == idx[0].tz_localize("UTC")


def test_day_first_decided_from_rows_across_the_file() -> None:
    """Minute data whose first 1,000 rows all have day <= 12 is still read day-first."""
    idx = pd.date_range("2024-01-01", periods=20_000, freq="1min")
    ds = parse_upload(table([f"{t:%d/%m/%Y %H:%M}" for t in idx]), "m.csv")
    assert ds.report.fields["timestamp_format"] == "day-first (%d/%m/%Y %H:%M)"
    assert not any("ambiguous" in w for w in ds.report.warnings)
    assert ds.frame.index[-1] == idx[-1]


def test_excel_serial_dates_in_a_time_column_read_as_wall_clock_times() -> None:
    """Excel's day numbers (45292.0416667 = 2024-01-01 01:00) in a column named like a time, rounded
    to the second; readings in that range that go up and down are not taken for times."""
    n = 24 * 7
    serials = [f"{45292 + i / 24:.10f}" for i in range(n)]
    text = "timestamp,kwh\n" + "".join(f"{s},{10 + i % 24}\n" for i, s in enumerate(serials))
    ds = parse_upload(text.encode(), "excel.csv")
    assert ds.report.fields["timestamp_format"] == "Excel serial dates"
    assert ds.frame.index[0] == pd.Timestamp("2024-01-01 00:00") and ds.frame.index.tz is None
    assert ds.frame.index[1] == pd.Timestamp("2024-01-01 01:00") and ds.freq == pd.Timedelta("1h")
    up_down = pd.Series([30000.0 + (500 if i % 2 else 0) for i in range(n)])
    assert epoch_unit(up_down) is None
