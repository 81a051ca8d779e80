"""Property: whatever bytes arrive, parse_upload returns a Dataset or raises DataError, nothing else."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.data import DataError, Dataset, guess_schema, parse_upload
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
