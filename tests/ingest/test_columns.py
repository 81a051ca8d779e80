"""Column roles and units: inferred from names and contents, overridden by Schema."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.ingest.data import DataError, Schema, guess_schema, parse_upload

IDX = pd.date_range("2024-01-01", periods=96, freq="1h")


def frame_bytes(**cols) -> bytes:
    df = pd.DataFrame({"timestamp": IDX.strftime("%Y-%m-%d %H:%M"), **cols})
    return df.to_csv(index=False).encode()


def wave(k: float = 1.0) -> np.ndarray:
    return np.round(k * (20 + 5 * np.sin(np.arange(len(IDX)) / 3)), 3)


def test_wide_file_roles_and_candidates() -> None:
    """The first energy-looking column is the value; temperature is a covariate; others are offered."""
    data = frame_bytes(
        humidity=wave(2), Main_kWh=wave(), oat=wave(0.5), label=(np.arange(96) == 5).astype(int)
    )
    guess = guess_schema(data, "w.csv")
    assert guess.columns == ["timestamp", "humidity", "Main_kWh", "oat", "label"]
    assert (guess.timestamp_col, guess.value_col, guess.label_col) == (
        "timestamp",
        "Main_kWh",
        "label",
    )
    assert guess.covariate_cols == ["oat"]
    assert guess.candidates["value"] == ["Main_kWh", "humidity", "oat"]
    assert guess.candidates["covariate"] == ["oat", "humidity"]
    assert guess.candidates["label"] == ["label"]
    assert (guess.unit, guess.unit_source, guess.rows) == ("kWh", "column name", 96)
    ds = parse_upload(data, "w.csv")
    assert list(ds.frame.columns) == ["value", "temperature", "label"]
    assert ds.report.fields["covariate_cols"] == ["oat"]
    assert ds.frame["label"].sum() == 1.0
    assert ds.has_labels and ds.covariates == ["temperature"]


@pytest.mark.parametrize(
    ("name", "unit", "source"),
    [
        ("COMED_MW", "MW", "column name"),
        ("load (W)", "W", "column name"),
        ("energy_kwh", "kWh", "column name"),
        ("Total_Power", "kW", "assumed from a power column"),
        ("reading", "kWh", "default"),
    ],
)
def test_units_from_column_names(name: str, unit: str, source: str) -> None:
    """Unit tokens in the name win; a bare 'power' means kW; otherwise kWh, said in a warning."""
    ds = parse_upload(frame_bytes(**{name: wave()}), "u.csv")
    assert (ds.unit, ds.report.fields["unit_source"]) == (unit, source)
    assert any("assumed kWh" in w for w in ds.report.warnings) == (source == "default")


def test_schema_unit_override_and_unknown_unit() -> None:
    """Schema.unit is normalised (``mwh`` -> MWh); an unknown unit lists the choices."""
    ds = parse_upload(frame_bytes(v=wave()), "u.csv", Schema(unit="mwh"))
    assert (ds.unit, ds.report.fields["unit_source"]) == ("MWh", "schema")
    with pytest.raises(
        DataError, match=r"^Unit 'therms' is not known: choose one of Wh, kWh, MWh, W, kW, MW.$"
    ):
        parse_upload(frame_bytes(v=wave()), "u.csv", Schema(unit="therms"))


def test_schema_overrides_and_missing_columns() -> None:
    """A chosen column is used; a chosen column that is not there says which columns exist."""
    data = frame_bytes(a_kw=wave(), b_kw=wave(3))
    ds = parse_upload(data, "o.csv", Schema(value_col="b_kw", covariate_cols=("a_kw",)))
    assert ds.frame["value"].iloc[0] == pytest.approx(60.0)
    assert list(ds.frame.columns) == ["value", "a_kw"]
    with pytest.raises(
        DataError,
        match=r"^Value column 'c_kw' not found in o.csv: the columns are timestamp, a_kw, b_kw.$",
    ):
        parse_upload(data, "o.csv", Schema(value_col="c_kw"))


def test_long_format_picks_the_first_meter_by_default() -> None:
    """Stacked meters: the first id is analysed, another can be picked, an unknown id is refused."""
    a = pd.DataFrame({"building_id": 7, "timestamp": IDX, "meter_reading": wave()})
    b = pd.DataFrame({"building_id": 9, "timestamp": IDX, "meter_reading": wave(10)})
    data = pd.concat([a, b]).to_csv(index=False).encode()
    guess = guess_schema(data, "long.csv")
    assert (guess.meter_col, guess.meters) == ("building_id", ["7", "9"])
    ds = parse_upload(data, "long.csv")
    f = ds.report.fields
    assert (f["meter"], f["meters"], f["meter_count"], f["duplicate_timestamps"]["count"]) == (
        "7",
        ["7", "9"],
        2,
        0,
    )
    assert len(ds.frame) == 96 and len(ds.raw) == 192
    ds9 = parse_upload(data, "long.csv", Schema(meter="9"))
    assert ds9.frame["value"].iloc[0] == pytest.approx(200.0)
    with pytest.raises(
        DataError,
        match=r"^Meter '5' not found in column 'building_id' of long.csv: choose one of 7, 9.$",
    ):
        parse_upload(data, "long.csv", Schema(meter="5"))


def test_single_meter_id_is_noted() -> None:
    """A meter column with one id is just noted."""
    data = (
        pd.DataFrame({"building_id": 1074, "timestamp": IDX, "meter_reading": wave()})
        .to_csv(index=False)
        .encode()
    )
    ds = parse_upload(data, "one.csv")
    assert "One meter in the file: building_id = 1074." in ds.report.warnings
    assert ds.report.fields["meter_count"] == 1


@pytest.mark.parametrize("name", ["anomaly", "is_anomaly", "is_anomalous", "outlier", "label"])
def test_label_names(name: str) -> None:
    """Common 0/1 ground-truth names become ``label``; an empty label cell stays unknown (NaN)."""
    lab = pd.array([0] * 95 + [1], dtype="Int64")
    lab[3] = pd.NA
    ds = parse_upload(frame_bytes(kwh=wave(), **{name: lab}), "l.csv")
    assert ds.report.fields["label_col"] == name
    assert ds.frame["label"].sum() == 1.0 and np.isnan(ds.frame["label"].iloc[3])


@pytest.mark.parametrize("name", ["temp", "temperature", "air_temperature", "oat", "Outdoor_Temp"])
def test_temperature_names_become_temperature(name: str) -> None:
    """Outdoor temperature under any common name is renamed ``temperature``."""
    ds = parse_upload(frame_bytes(kwh=wave(), **{name: wave(0.3)}), "t.csv")
    assert ds.covariates == ["temperature"]


def test_non_numeric_covariate_cells_are_warned_about() -> None:
    """Text in a covariate column is missing in the frame and named in a warning."""
    temp = wave(0.3).astype(object)
    temp[4] = "ERR"
    ds = parse_upload(frame_bytes(kwh=wave(), temp=temp), "c.csv")
    assert np.isnan(ds.frame["temperature"].iloc[4])
    assert (
        "Covariate 'temp': 1 non-numeric cells treated as missing, e.g. 'ERR'."
        in ds.report.warnings
    )


@pytest.mark.parametrize(
    ("name", "canon"),
    [
        ("Sub_metering_1", "sub_metering_1"),
        ("submeter_hvac", "submeter_hvac"),
        ("Sub-meter 2 [kWh]", "sub_meter_2_kwh"),
        ("SubMeter3", "submeter3"),
    ],
)
def test_submeter_names_are_kept_under_canonical_names(name: str, canon: str) -> None:
    """A sub-meter-named column is a covariate under a snake-case name, listed in the report."""
    ds = parse_upload(frame_bytes(Main_kWh=wave(), **{name: wave(0.2)}), "s.csv")
    assert list(ds.frame.columns) == ["value", canon]
    assert ds.frame[canon].to_numpy() == pytest.approx(wave(0.2))
    f = ds.report.fields
    assert (f["covariate_cols"], f["submeters"], f["unused_cols"]) == ([name], [canon], [])
    assert f"{name} -> {canon}" in ds.report.changes[0]


@pytest.mark.parametrize("name", ["subtotal", "subway_meter", "meter_reading", "submarine"])
def test_other_names_are_not_submeters(name: str) -> None:
    """Only ``sub`` followed by ``meter`` names a sub-meter; other extra columns are named as unused."""
    ds = parse_upload(frame_bytes(Main_kWh=wave(), **{name: wave(0.2)}), "n.csv")
    assert list(ds.frame.columns) == ["value"] and ds.report.fields["submeters"] == []
    assert ds.report.fields["unused_cols"] == [name]
    assert any(w.startswith(f"Not used: {name} ") for w in ds.report.warnings)


def test_submeters_are_the_value_only_when_nothing_else_is() -> None:
    """A sub-meter listed before a meter without an energy-like name is still context, not the value."""
    data = frame_bytes(Sub_metering_1=wave(0.2), Sub_metering_2=wave(0.1), Global=wave())
    guess = guess_schema(data, "g.csv")
    assert guess.value_col == "Global"
    assert guess.covariate_cols == ["Sub_metering_1", "Sub_metering_2"]
    only = guess_schema(frame_bytes(submeter_a=wave(), submeter_b=wave(0.5)), "o.csv")
    assert (only.value_col, only.covariate_cols) == ("submeter_a", ["submeter_b"])


def test_chosen_covariates_leave_submeters_out_and_say_so() -> None:
    """Covariates picked by hand replace the guess: a sub-meter left out is named as unused."""
    data = frame_bytes(Main_kWh=wave(), temp=wave(0.3), Sub_metering_1=wave(0.2))
    ds = parse_upload(data, "c.csv", Schema(covariate_cols=("temp",)))
    assert list(ds.frame.columns) == ["value", "temperature"]
    assert ds.report.fields["unused_cols"] == ["Sub_metering_1"]


@pytest.mark.parametrize(("unit", "how"), [("kWh", "sum"), ("kW", "mean")])
def test_resampling_treats_submeters_like_the_meter(unit: str, how: str) -> None:
    """Energy meters sum their sub-meters per step, power meters average them, like the value."""
    from core.ingest.data import CleanOptions

    ds = parse_upload(
        frame_bytes(main=wave(), submeter_a=wave(0.2)),
        "r.csv",
        Schema(unit=unit),
        CleanOptions(freq="2h"),
    )
    bins = pd.Series(wave(0.2), index=IDX).resample("2h")
    assert ds.frame["submeter_a"].to_numpy() == pytest.approx(getattr(bins, how)().to_numpy())


@pytest.mark.golden
def test_uci_household_submeters_survive_ingestion(shared_data) -> None:
    """The UCI file's three sub-meters reach the frame as sub_metering_1..3, exactly as read, and
    the report names them and the columns not used (reactive power, voltage, intensity)."""
    path = shared_data / "uci_household_hourly" / "household_power_consumption_hourly.csv"
    ds = parse_upload(path.read_bytes(), path.name)
    subs = ["sub_metering_1", "sub_metering_2", "sub_metering_3"]
    assert list(ds.frame.columns) == ["value", *subs]
    assert (ds.unit, ds.report.fields["submeters"]) == ("kW", subs)
    plain = pd.read_csv(path, index_col="Datetime", parse_dates=True)
    for i, name in enumerate(subs, start=1):
        assert ds.frame[name].to_numpy() == pytest.approx(plain[f"Sub_metering_{i}"].to_numpy())
    unused = ["Global_reactive_power", "Voltage", "Global_intensity"]
    assert ds.report.fields["unused_cols"] == unused
    assert any(w.startswith("Not used: " + ", ".join(unused)) for w in ds.report.warnings)
    assert any(c.startswith("Kept 3 sub-meter columns as context") for c in ds.report.changes)


@pytest.mark.golden
def test_file_without_submeters_keeps_its_frame(shared_data) -> None:
    """A real file without sub-meters gives the frame it always gave: value and temperature only."""
    path = shared_data / "polito_building_2019" / "building_load_temp.csv"
    ds = parse_upload(path.read_bytes(), path.name)
    assert list(ds.frame.columns) == ["value", "temperature"]
    f = ds.report.fields
    assert (f["submeters"], f["unused_cols"]) == ([], [])
    assert not any("sub-meter" in line for line in ds.report.changes + ds.report.warnings)
