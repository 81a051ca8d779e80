"""Property: whatever bytes arrive, parse_upload returns a Dataset or raises DataError, nothing else."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ingest.data import DataError, Dataset, guess_schema, parse_upload
from tests.conftest import SAMPLE_DATA

BASE = b"".join((SAMPLE_DATA / "taylor_uk_demand.csv").read_bytes().splitlines(keepends=True)[:150])
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(data: bytes, filename: str = "fuzz.csv") -> None:
    try:
        result = parse_upload(data, filename)
    except DataError as err:
        assert str(err) and "\n" not in str(err)
        assert " could not be read (" not in str(err), str(err)
        return
    assert isinstance(result, Dataset)
    assert result.frame.index.is_monotonic_increasing and result.frame.index.is_unique
    json.dumps(result.report.to_dict())


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    """The real CSV truncated, with bytes flipped, inserted or deleted."""
    data = bytearray(BASE)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "truncate":
            data = data[:pos]
        elif op == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=20))
        elif data:
            del data[pos : pos + draw(st.integers(1, 200))]
    return bytes(data)


@FUZZ
@given(mangled())
def test_mangled_real_csv(data: bytes) -> None:
    """Damaged copies of a real file never escape as another exception."""
    check(data)


@FUZZ
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400),
    st.sampled_from(["t.csv", "t.json", "t.parquet"]),
)
def test_random_text(text: str, filename: str) -> None:
    """Random text, under any extension, gives a Dataset or a DataError."""
    check(text.encode("utf-8"), filename)


@FUZZ
@given(st.binary(max_size=600))
def test_random_binary(data: bytes) -> None:
    """Random bytes (including fake Parquet magic) give a DataError."""
    check(data)
    check(b"PAR1" + data, "x.parquet")


@pytest.mark.parametrize("data", [BASE[:40], BASE.replace(b",", b";", 3), b"{" + BASE])
def test_guess_schema_never_escapes(data: bytes) -> None:
    """guess_schema has the same guarantee as parse_upload."""
    try:
        guess = guess_schema(data, "g.csv")
    except DataError as err:
        assert " could not be read (" not in str(err)
    else:
        assert guess.columns


CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(str),
    st.integers(-5, 5).map(str),
    st.sampled_from(["", "n/a", "ERR", "0", "0", "1e9", "-0.0"]),
)


@st.composite
def messy_series(draw: st.DrawFn) -> bytes:
    """Plausible meter tables: shuffled, duplicated, gappy and off-grid times; junk, zeros, flats."""
    n = draw(st.integers(40, 160))
    step = draw(st.sampled_from([60, 900, 1800, 3600, 86400]))
    offsets = draw(st.lists(st.integers(-3, 400), min_size=n, max_size=n))
    base = 1_400_000_000
    stamps = [base + step * abs(o) + (draw(st.integers(0, 59)) if o < 0 else 0) for o in offsets]
    layout = draw(st.sampled_from(["%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M", "epoch"]))
    times = [
        str(t) if layout == "epoch" else pd.Timestamp(t, unit="s").strftime(layout) for t in stamps
    ]
    values = draw(st.lists(CELLS, min_size=n, max_size=n))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    lines = [f"timestamp{sep}kwh"] + [f"{t}{sep}{v}" for t, v in zip(times, values, strict=True)]
    return "\n".join(lines).encode()


@settings(FUZZ, max_examples=40)
@given(messy_series(), st.sampled_from([None, "1h", "1D"]), st.booleans())
def test_messy_series(data: bytes, freq: str | None, cumulative: bool) -> None:
    """Realistic damage reaches the cleaning steps and still ends as a Dataset or a DataError."""
    from core.ingest.data import CleanOptions

    try:
        ds = parse_upload(
            data, "messy.csv", options=CleanOptions(freq=freq, cumulative_to_interval=cumulative)
        )
    except DataError as err:
        assert " could not be read (" not in str(err), str(err)
        return
    assert ds.frame.index.is_unique and ds.frame.index.is_monotonic_increasing
    f = ds.report.fields
    assert f["valid_points"] + f["missing_after_cleaning"] == f["points"] == len(ds.frame)


@settings(FUZZ, max_examples=30)
@given(
    st.integers(1, 20_000),
    st.sampled_from(["[", '{"a":', '[{"t":']),
    st.sampled_from(["r.json", "r.csv"]),
)
def test_nesting_at_any_depth(depth: int, opener: str, filename: str) -> None:
    """JSON nested to any depth (shallow, near the recursion limit, far past it) ends in words, never RecursionError."""
    closer = {"[": "]", '{"a":': "}", '[{"t":': "}]"}[opener]
    data = (opener * depth + "1" + closer * depth).encode()
    try:
        parse_upload(data, filename)
    except DataError as err:
        assert "Recursion" not in str(err) and " could not be read (" not in str(err), str(err)
