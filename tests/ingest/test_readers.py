"""Reading bytes: every accepted format and dialect, and one clear line for every refused input."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from core.ingest.data import MAX_UPLOAD_MB, MIN_POINTS, DataError, parse_upload


def hourly(n: int = 72, start: str = "2024-01-01") -> tuple[pd.DatetimeIndex, np.ndarray]:
    idx = pd.date_range(start, periods=n, freq="1h")
    return idx, np.round(10 + np.arange(n) % 24 * 0.5, 2)


def csv_bytes(
    sep: str = ",", decimal: str = ".", n: int = 72, header: str = "timestamp{s}kwh"
) -> bytes:
    idx, vals = hourly(n)
    lines = [header.format(s=sep)]
    lines += [
        f"{t:%Y-%m-%d %H:%M:%S}{sep}{str(v).replace('.', decimal)}"
        for t, v in zip(idx, vals, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    ("sep", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")]
)
def test_csv_delimiters_are_sniffed(sep: str, name: str) -> None:
    """Any of the four common delimiters gives the same frame."""
    ds = parse_upload(csv_bytes(sep), "m.csv")
    assert ds.report.fields["source"]["delimiter"] == sep
    assert len(ds.frame) == 72
    assert ds.frame["value"].iloc[1] == pytest.approx(10.5)


def test_decimal_comma_with_semicolons() -> None:
    """European exports (``;`` and ``1,5``) read as numbers, not text."""
    ds = parse_upload(csv_bytes(";", ","), "eu.csv")
    assert ds.report.fields["source"]["decimal"] == ","
    assert ds.report.fields["non_numeric_values"]["count"] == 0
    assert ds.frame["value"].iloc[3] == pytest.approx(11.5)


def test_utf8_bom_and_latin1_headers() -> None:
    """A BOM does not leak into the first column name; Latin-1 bytes decode."""
    bom = b"\xef\xbb\xbf" + csv_bytes()
    ds = parse_upload(bom, "bom.csv")
    assert ds.report.fields["timestamp_col"] == "timestamp"
    assert ds.report.fields["source"]["encoding"] == "utf-8-sig"
    latin = csv_bytes(header="timestamp{s}consommation_kWh").replace(
        b"consommation", "consommé".encode("latin-1")
    )
    ds = parse_upload(latin, "fr.csv")
    assert ds.report.fields["source"]["encoding"] == "latin-1"
    assert ds.report.fields["value_col"] == "consommé_kWh"


def test_json_records_and_mapping() -> None:
    """A list of records and a {timestamp: value} mapping both parse."""
    idx, vals = hourly()
    records = [
        {"time": f"{t:%Y-%m-%dT%H:%M}", "kw": float(v)} for t, v in zip(idx, vals, strict=True)
    ]
    ds = parse_upload(json.dumps(records).encode(), "r.json")
    assert ds.report.fields["source"]["format"] == "json"
    assert (ds.unit, len(ds.frame)) == ("kW", 72)
    mapping = {f"{t:%Y-%m-%d %H:%M}": float(v) for t, v in zip(idx, vals, strict=True)}
    ds = parse_upload(json.dumps(mapping).encode(), "m.json")
    assert ds.report.fields["value_col"] == "value"
    assert ds.frame["value"].iloc[2] == pytest.approx(11.0)
    assert ds.report.fields["row_numbering"] == "record number (first record is 1)"


def test_parquet_bytes() -> None:
    """Parquet files read with their types."""
    idx, vals = hourly()
    buf = io.BytesIO()
    pd.DataFrame({"ts": idx, "load_kw": vals}).to_parquet(buf)
    ds = parse_upload(buf.getvalue(), "p.parquet")
    assert ds.report.fields["source"]["format"] == "parquet"
    assert ds.report.fields["timestamp_col"] == "ts"
    assert ds.unit == "kW"
    assert len(ds.frame) == 72


def test_csv_without_header() -> None:
    """A first line of data is not taken as a header."""
    data = csv_bytes().split(b"\n", 1)[1]
    ds = parse_upload(data, "noheader.csv")
    assert ds.report.fields["source"]["header"] is False
    assert ds.report.fields["rows"] == 72
    assert ds.report.fields["columns"] == ["column_1", "column_2"]


def test_lines_with_wrong_field_count_are_skipped_and_reported() -> None:
    """The fallback reader skips malformed lines and names them; nothing silently lost."""
    lines = csv_bytes().decode().splitlines()
    lines[5] = lines[5] + ",extra,fields"
    ds = parse_upload("\n".join(lines).encode(), "bad.csv")
    assert ds.report.fields["bad_lines"] == {"count": 1, "lines": [6]}
    assert ds.report.fields["rows"] == 71
    assert any("wrong number of fields" in w for w in ds.report.warnings)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"",
            "e.csv is empty: upload a CSV, JSON or Parquet file with a timestamp and a value column.",
        ),
        (
            b"  \n\n",
            "e.csv is empty: upload a CSV, JSON or Parquet file with a timestamp and a value column.",
        ),
        (
            b"timestamp,kwh\n",
            "e.csv has a header but no data rows: upload the file with its readings.",
        ),
        (
            bytes(range(256)) * 4,
            "e.csv does not look like a text table or a Parquet file (it contains binary bytes): export it as CSV, JSON or Parquet and upload again.",
        ),
        (b"[]", "e.csv holds an empty JSON list: there are no readings to analyse."),
        (
            b"PAR1garbage",
            "e.csv starts like a Parquet file but cannot be read",
        ),
    ],
)
def test_unreadable_inputs_give_one_line(data: bytes, message: str) -> None:
    """Empty, header-only, binary and broken files each give their own one-line message."""
    with pytest.raises(DataError) as err:
        parse_upload(data, "e.csv")
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_no_timestamp_and_no_numeric_column() -> None:
    """Missing roles name the columns the file does have."""
    with pytest.raises(
        DataError,
        match=r"^No timestamp column found in t.csv \(columns: a, b\): add a date/time column",
    ):
        parse_upload(b"a,b\n1,2\n3,4\n", "t.csv")
    idx, _ = hourly()
    text = "timestamp,note\n" + "\n".join(f"{t},x" for t in idx)
    with pytest.raises(
        DataError, match=r"^No numeric value column found in n.csv \(columns: timestamp, note\)"
    ):
        parse_upload(text.encode(), "n.csv")


def test_too_few_and_all_missing_values() -> None:
    """Fewer than MIN_POINTS readings, or none at all, are refused with the count."""
    with pytest.raises(
        DataError,
        match=f"^Only {MIN_POINTS - 1} valid readings in s.csv; at least {MIN_POINTS} are needed",
    ):
        parse_upload(csv_bytes(n=MIN_POINTS - 1), "s.csv")
    idx, _ = hourly()
    text = "timestamp,kwh\n" + "\n".join(f"{t}," for t in idx)
    with pytest.raises(
        DataError,
        match="^Value column 'kwh' in m.csv has no numeric readings: pick another value column.",
    ):
        parse_upload(text.encode(), "m.csv")


def test_file_over_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The size limit is checked on the bytes, before any parsing."""
    monkeypatch.setattr("core.ingest.limits.MAX_UPLOAD_MB", 0.001)
    with pytest.raises(DataError, match=r"^big.csv is 0.1 MB, over the 0.001 MB limit"):
        parse_upload(csv_bytes(), "big.csv")
    assert MAX_UPLOAD_MB == 200


def test_unexpected_errors_become_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug deep inside parsing still reaches the user as a DataError, not a traceback."""

    def boom(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr("core.ingest.data.clean", boom)
    with pytest.raises(DataError, match=r"^x.csv could not be read \(KeyError: 'surprise'\)"):
        parse_upload(csv_bytes(), "x.csv")


def test_quoted_thousands_are_not_read_as_decimals() -> None:
    """In a comma-separated file ``"1,234"`` is reported as non-numeric, never read as 1.234."""
    idx, vals = hourly()
    text = "timestamp,kwh\n" + "\n".join(f"{t},{v}" for t, v in zip(idx, vals, strict=True))
    text = text.replace(f"\n{idx[3]},{vals[3]}", f'\n{idx[3]},"1,234"')
    ds = parse_upload(text.encode(), "k.csv")
    assert ds.report.fields["non_numeric_values"] == {
        "count": 1,
        "lines": [5],
        "examples": ["1,234"],
    }


def test_json_envelope_and_unix_milliseconds() -> None:
    """``{"meta": ..., "data": [records]}`` API responses read the records; epoch ms become UTC."""
    idx, vals = hourly()
    recs = [
        {"ts": int(t.timestamp() * 1000), "power_kw": float(v)}
        for t, v in zip(idx, vals, strict=True)
    ]
    ds = parse_upload(json.dumps({"meta": {"site": "x"}, "data": recs}).encode(), "api.json")
    assert ds.report.fields["timestamp_format"] == "unix milliseconds"
    assert ds.frame.index[0] == idx[0].tz_localize("UTC") and ds.unit == "kW"


def test_json_records_alone_under_one_key_and_time_value_pairs() -> None:
    """``{"data": [records]}`` with nothing beside it, and ``[[time, value], ...]`` pairs (charting and
    IoT exports), read like records; a list of triples still gets the layout message."""
    idx, vals = hourly()
    recs = [{"time": t.isoformat(), "kwh": float(v)} for t, v in zip(idx, vals, strict=True)]
    alone = parse_upload(json.dumps({"readings": recs}).encode(), "alone.json")
    pairs = [[int(t.timestamp() * 1000), float(v)] for t, v in zip(idx, vals, strict=True)]
    paired = parse_upload(json.dumps(pairs).encode(), "pairs.json")
    assert len(alone.frame) == len(paired.frame) == len(idx)
    np.testing.assert_allclose(alone.frame["value"], vals)
    np.testing.assert_allclose(paired.frame["value"], vals)
    triples = [[*p, 1] for p in pairs]
    with pytest.raises(DataError, match=r"layout not understood.*\[timestamp, value\] pairs"):
        parse_upload(json.dumps(triples).encode(), "triples.json")


def test_a_value_column_of_thousands_separated_text_says_how_to_fix_it() -> None:
    idx, vals = hourly()
    text = "timestamp,kwh\n" + "\n".join(
        f'{t},"1,{int(v) % 1000:03d}"' for t, v in zip(idx, vals, strict=True)
    )
    with pytest.raises(
        DataError,
        match=r"72 cells are text, e\.g\. '1,\d{3}' on file line 2: .*thousands separator",
    ):
        parse_upload(text.encode(), "k.csv")


@pytest.mark.parametrize(
    "head", ["<!DOCTYPE html><html>", "<html><body>404 Not Found", '<?xml version="1.0"?><rows>']
)
def test_a_web_page_or_xml_is_named_as_such(head: str) -> None:
    with pytest.raises(DataError, match=r"is a web page or an XML document, not a table"):
        parse_upload(f"  {head}\n</body></html>\n".encode(), "export.csv")
