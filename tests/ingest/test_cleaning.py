"""Validation and cleaning rules: each finding counted exactly, each change written down."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.ingest.data import CleanOptions, DataError, Schema, parse_upload


def series_bytes(idx, values, col: str = "kwh", extra: dict | None = None) -> bytes:
    df = pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(idx).strftime("%Y-%m-%d %H:%M:%S"),
            col: values,
            **(extra or {}),
        }
    )
    return df.to_csv(index=False).encode()


def daily(
    n: int = 96, freq: str = "1h", start: str = "2024-01-01"
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    idx = pd.date_range(start, periods=n, freq=freq)
    return idx, np.round(50 + 20 * np.sin(np.arange(n) * 2 * np.pi / 24) + np.arange(n) % 5, 3)


def test_clean_file_makes_no_changes() -> None:
    """A regular, complete series passes with zero findings and an empty change list."""
    idx, v = daily()
    ds = parse_upload(series_bytes(idx, v), "c.csv")
    f = ds.report.fields
    assert f["step"] == "1h" and f["freq"] == "1h" and ds.freq == pd.Timedelta("1h")
    assert (
        f["unsorted_rows"],
        f["duplicate_timestamps"]["count"],
        f["gaps"]["count"],
        f["negative_values"],
    ) == (0, 0, 0, 0)
    assert (f["start"], f["end"], f["points"], f["valid_points"]) == (
        "2024-01-01 00:00",
        "2024-01-04 23:00",
        96,
        96,
    )
    assert ds.report.changes == []
    assert ds.frame.index.name == "timestamp" and ds.frame["value"].dtype == np.float64
    assert ds.frame.index.is_monotonic_increasing and ds.frame.index.is_unique


def test_duplicates_on_fall_back_sunday_are_averaged() -> None:
    """Two readings of the same hour become their mean; DST fall-back hours are named as such."""
    idx, v = daily(n=96, start="2014-11-01")
    rows = pd.DataFrame({"timestamp": idx, "kwh": v})
    dup = pd.DataFrame({"timestamp": [pd.Timestamp("2014-11-02 01:00")], "kwh": [v[25] + 10]})
    rows = pd.concat([rows.iloc[:26], dup, rows.iloc[26:]])
    ds = parse_upload(series_bytes(rows["timestamp"], rows["kwh"].to_numpy()), "d.csv")
    assert ds.report.fields["duplicate_timestamps"] == {
        "count": 1,
        "timestamps": 1,
        "examples": ["2014-11-02 01:00"],
        "dst_fall_back": 1,
    }
    assert ds.frame.loc["2014-11-02 01:00", "value"] == pytest.approx(v[25] + 5)
    assert (
        "Averaged 1 duplicated timestamps (daylight-saving fall-back hours), e.g. 2014-11-02 01:00."
        in ds.report.changes
    )
    assert len(ds.raw) == 97


def test_gaps_are_measured_and_short_ones_filled() -> None:
    """Missing steps: counted per gap; gaps up to fill_limit interpolated, longer ones stay NaN."""
    idx, v = daily(n=120)
    keep = np.ones(120, dtype=bool)
    keep[[10, 11]] = False  # 2-step gap: filled
    keep[50:60] = False  # 10-step gap: left
    ds = parse_upload(series_bytes(idx[keep], v[keep]), "g.csv")
    g = ds.report.fields["gaps"]
    assert (g["count"], g["missing_steps"], g["longest_steps"], g["longest_start"]) == (
        2,
        12,
        10,
        "2024-01-03 02:00",
    )
    assert g["examples"][0] == {"start": "2024-01-01 10:00", "end": "2024-01-01 11:00", "steps": 2}
    assert ds.report.fields["filled_steps"] == 2
    assert ds.frame["value"].iloc[10] == pytest.approx(v[9] + (v[12] - v[9]) / 3)
    assert ds.frame["value"].iloc[50:60].isna().all()
    assert ds.report.fields["missing_after_cleaning"] == 10
    assert (
        "Filled 2 missing steps in 1 short gaps (at most 3 steps) by time interpolation; 1 longer gaps left missing."
        in ds.report.changes
    )


def test_fill_limit_zero_fills_nothing() -> None:
    """fill_limit=0 leaves every gap missing and says so."""
    idx, v = daily()
    keep = np.arange(96) != 20
    ds = parse_upload(series_bytes(idx[keep], v[keep]), "g.csv", options=CleanOptions(fill_limit=0))
    assert np.isnan(ds.frame["value"].iloc[20]) and ds.report.fields["filled_steps"] == 0
    assert ds.report.changes == ["Left 1 gaps longer than 0 steps missing (no reading invented)."]


def test_spring_forward_gap_is_recognised() -> None:
    """A single missing early hour on a March Sunday counts as a spring-forward gap."""
    idx, v = daily(n=72, start="2016-03-12")
    keep = idx != pd.Timestamp("2016-03-13 02:00")
    ds = parse_upload(series_bytes(idx[keep], v[keep]), "s.csv")
    assert ds.report.fields["gaps"]["dst_spring_forward"] == 1


def test_unsorted_rows_are_sorted_and_reported() -> None:
    """Rows out of order are sorted; the count of backward steps is reported."""
    idx, v = daily()
    order = np.r_[48:96, 0:48]
    ds = parse_upload(series_bytes(idx[order], v[order]), "u.csv")
    assert ds.report.fields["unsorted_rows"] == 1
    assert ds.frame.index[0] == idx[0] and ds.frame["value"].iloc[0] == v[0]
    assert ds.report.changes == [
        "Sorted the rows by time (1 rows came earlier than the row before them)."
    ]
    assert ds.raw["kwh"].iloc[0] == v[48]  # raw stays as given


def test_non_numeric_values_become_missing_and_are_listed() -> None:
    """Text in the value column is reported with lines and examples, then treated as missing."""
    idx, v = daily()
    vals = v.astype(str).astype(object)
    vals[4], vals[7], vals[9] = "ERR", "n/a", ""
    ds = parse_upload(series_bytes(idx, vals), "n.csv")
    assert ds.report.fields["non_numeric_values"] == {"count": 1, "lines": [6], "examples": ["ERR"]}
    assert ds.report.fields["missing_values"] == 2
    assert ds.report.fields["missing_total"] == 3
    assert "Treated 1 non-numeric readings as missing, e.g. 'ERR'." in ds.report.changes


def test_irregular_timestamps_are_snapped_to_the_step() -> None:
    """Readings off the inferred grid are moved into their step and counted."""
    idx, v = daily(n=96, freq="15min")
    idx = idx.to_series().copy()
    idx.iloc[5] += pd.Timedelta("2min")
    ds = parse_upload(series_bytes(idx, v), "i.csv")
    assert ds.report.fields["step"] == "15min"
    assert ds.report.fields["irregular_steps"] == {"count": 2, "off_grid_rows": 1}
    assert len(ds.frame) == 96
    assert (
        "Moved 1 readings that were off the 15min grid onto the step they fall in (averaged per step)."
        in ds.report.changes
    )


@pytest.mark.parametrize(("col", "how", "expected"), [("kwh", "sum", 10.0), ("kw", "mean", 2.5)])
def test_resampling_sums_energy_and_averages_power(col: str, how: str, expected: float) -> None:
    """15 min -> 1 h: kWh readings are summed, kW readings averaged; temperature is averaged."""
    idx = pd.date_range("2024-01-01", periods=4 * 72, freq="15min")
    v = np.tile([1.0, 2.0, 3.0, 4.0], 72)
    ds = parse_upload(
        series_bytes(idx, v, col, {"temp": np.tile([0.0, 2.0, 4.0, 6.0], 72)}),
        "r.csv",
        options=CleanOptions(freq="1h"),
    )
    assert ds.freq == pd.Timedelta("1h") and len(ds.frame) == 72
    assert ds.frame["value"].iloc[0] == pytest.approx(expected)
    assert ds.frame["temperature"].iloc[0] == pytest.approx(3.0)
    assert ds.report.fields["resampled"] == {
        "from": "15min",
        "to": "1h",
        "how": how,
        "incomplete_bins": 0,
    }
    assert ds.report.fields["step"] == "15min" and ds.report.fields["freq"] == "1h"


def test_resampling_to_a_finer_step_or_unknown_step_is_refused() -> None:
    """Resampling cannot invent readings, and a step must be understood."""
    idx, v = daily()
    with pytest.raises(
        DataError, match=r"^Cannot resample 1h readings to 15min: choose a step of 1h or longer.$"
    ):
        parse_upload(series_bytes(idx, v), "r.csv", options=CleanOptions(freq="15min"))
    with pytest.raises(DataError, match=r"^Resampling step 'fortnightly' is not understood"):
        parse_upload(series_bytes(idx, v), "r.csv", options=CleanOptions(freq="fortnightly"))


def test_negatives_zero_runs_and_flat_runs() -> None:
    """Negative readings, runs of zeros and stuck (flat) runs are counted with where they start."""
    idx, v = daily(n=120)
    v = v.copy()
    v[5] = -3.0
    v[20:26] = 0.0
    v[60:68] = 42.5
    ds = parse_upload(series_bytes(idx, v), "q.csv")
    f = ds.report.fields
    assert f["negative_values"] == 1
    assert f["zero_runs"] == {
        "count": 1,
        "longest_steps": 6,
        "longest_start": "2024-01-01 20:00",
        "examples": [{"start": "2024-01-01 20:00", "end": "2024-01-02 01:00", "steps": 6}],
    }
    assert (
        f["flat_runs"]["count"],
        f["flat_runs"]["longest_steps"],
        f["flat_runs"]["min_steps"],
    ) == (1, 8, 3)
    assert f["flat_runs"]["longest_start"] == "2024-01-03 12:00"


def test_cumulative_register_detected_and_differenced_with_reset() -> None:
    """A counter is flagged; on request it becomes use per step, a rollover counted as a reset."""
    idx, use = daily()
    register = np.cumsum(use) + 1000
    register[60:] -= register[59]  # meter replaced: counter restarts near zero
    data = series_bytes(idx, np.round(register, 3))
    plain = parse_upload(data, "c.csv")
    assert plain.report.fields["cumulative_register"] is True
    assert any("cumulative meter register" in w for w in plain.report.warnings)
    ds = parse_upload(data, "c.csv", options=CleanOptions(cumulative_to_interval=True))
    assert ds.report.fields["register_resets"] == 1
    np.testing.assert_allclose(ds.frame["value"].iloc[1:60], use[1:60], atol=1e-6)
    np.testing.assert_allclose(ds.frame["value"].iloc[61:], use[61:], atol=1e-6)
    assert np.isnan(ds.frame["value"].iloc[0])
    assert ds.report.changes[0].startswith("Turned the cumulative meter register into use per step")


def test_ordinary_load_is_not_a_register() -> None:
    """A daily cycle goes down as often as up: not a register."""
    idx, v = daily()
    assert parse_upload(series_bytes(idx, v), "l.csv").report.fields["cumulative_register"] is False


def test_digest_keys_on_bytes_schema_and_options() -> None:
    """Same bytes and settings give the same digest; any change gives another."""
    idx, v = daily()
    data = series_bytes(idx, v)
    a = parse_upload(data, "a.csv").digest
    assert a == parse_upload(data, "renamed.csv").digest and len(a) == 64
    assert a != parse_upload(data, "a.csv", Schema(unit="kW")).digest
    assert a != parse_upload(data, "a.csv", options=CleanOptions(fill_limit=1)).digest


def test_report_is_json_ready() -> None:
    """to_dict round-trips through json with no custom encoder."""
    import json

    idx, v = daily()
    report = parse_upload(series_bytes(idx, v), "j.csv").report.to_dict()
    assert json.loads(json.dumps(report)) == report


def test_stray_year_is_unreadable_and_huge_spans_are_refused() -> None:
    """A year like 3000 is treated as an unreadable time; a span far longer than the data is refused."""
    idx, v = daily()
    stamps = pd.DatetimeIndex(idx).strftime("%Y-%m-%d %H:%M:%S").tolist()
    stamps[7] = "3000-01-01 07:00:00"
    text = "timestamp,kwh\n" + "\n".join(f"{t},{x}" for t, x in zip(stamps, v, strict=True))
    ds = parse_upload(text.encode(), "y.csv")
    assert ds.report.fields["unparseable_timestamps"]["lines"] == [9]
    assert (
        "1 timestamps fall outside the years 1900-2199 and were treated as unreadable."
        in ds.report.warnings
    )
    stamps[7] = "2199-01-01 07:00:00"
    text = "timestamp,kwh\n" + "\n".join(f"{t},{x}" for t, x in zip(stamps, v, strict=True))
    with pytest.raises(
        DataError,
        match=r"^Timestamps run from 2024-01-01 00:00 to 2199-01-01 07:00: at the 1h step that is \d+ steps for 96 readings; check for mistyped dates",
    ):
        parse_upload(text.encode(), "y.csv")


def test_readings_beyond_any_meter_become_missing_and_are_listed() -> None:
    """A reading past ±1e15 or an infinity (an export error) is set missing and named by line."""
    idx, v = daily()
    vals = v.astype(object)
    vals[3], vals[10] = "inf", 1e300
    ds = parse_upload(series_bytes(idx, vals, extra={"temperature": [1e20] + [5.0] * 95}), "h.csv")
    far = ds.report.fields["out_of_range_values"]
    assert far["count"] == 2 and far["lines"] == [5, 12] and far["examples"] == ["inf", "1e+300"]
    assert ds.frame["value"].isna().sum() == 0  # filled like any short gap, and said so
    assert any("beyond ±1e+15" in c and "line 5, 12" in c for c in ds.report.changes)
    assert any("'temperature'" in w and "beyond" in w for w in ds.report.warnings)
    assert np.isfinite(ds.frame["temperature"].dropna()).all()


def test_a_file_of_only_absurd_readings_says_so() -> None:
    idx, _ = daily()
    with pytest.raises(DataError, match=r"no reading within ±1e15: 96 are larger or infinite"):
        parse_upload(series_bytes(idx, np.full(96, 1e308)), "huge.csv")


def test_timestamps_over_two_centuries_are_refused_clearly() -> None:
    """300 yearly readings (1900-2199) would overflow nanosecond times: one clear message."""
    idx = pd.date_range("1900-01-01", periods=300, freq="YS")
    with pytest.raises(DataError, match=r"over 200 years: .*mistyped dates"):
        parse_upload(series_bytes(idx, np.arange(300.0)), "years.csv")
