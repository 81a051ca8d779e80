"""Files that declare more than the limits are refused from what they declare, in bounded memory.

The hostile files of the "Hardening" issue are rebuilt here from a few bytes (row groups written
again and again, a header made by repetition), and read in a child process whose peak RSS is
measured; the child runs under an address-space cap, so a regression fails the test instead of
starving the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.ingest import limits
from core.ingest.data import DataError, parse_upload
from core.ingest.declared import check_size, check_upload

REPO = Path(__file__).resolve().parents[2]
PEAK_MB = 400  # the interpreter with pandas and pyarrow is ~120 MB; a refusal adds the file at most
CAP_MB = 2048  # address space of the measuring child: a file read in full hits this first

MEASURE = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[3]) << 20, resource.RLIM_INFINITY))
from core.ingest.data import DataError, parse_upload
data = open(sys.argv[1], "rb").read()
try:
    parse_upload(data, sys.argv[2])
    message = None
except DataError as err:
    message = str(err)
# VmHWM is this process's own peak: ru_maxrss carries the parent's peak over exec (a pytest run
# that has loaded TensorFlow would read as 1.4 GB here)
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"message": message, "peak_mb": int(hwm.split()[1]) / 1024}))
"""


def measured(path: Path) -> tuple[str | None, float]:
    """The DataError message and peak RSS (MB) of ``parse_upload`` on ``path`` in a fresh child."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), path.name, str(CAP_MB)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["message"], result["peak_mb"]


def one_timestamp_parquet(path: Path, groups: int, rows: int = 100_000) -> Path:
    """``groups`` x ``rows`` readings that all share one timestamp, written one small group at a time."""
    stamps = pa.array(["2024-01-01 00:00"]).take(pa.array(np.zeros(rows, dtype=np.int64)))
    table = pa.table({"timestamp": stamps, "kwh": pa.array(np.ones(rows))})
    with pq.ParquetWriter(path, table.schema) as writer:
        for _ in range(groups):
            writer.write_table(table)
    return path


def hourly_csv(n: int = 72, header: str = "timestamp,kwh") -> bytes:
    lines = [header] + [
        f"2024-01-{1 + i // 24:02d} {i % 24:02d}:00,{i % 24 * 0.5}" for i in range(n)
    ]
    return ("\n".join(lines) + "\n").encode()


def test_one_timestamp_parquet_refused_from_its_footer(tmp_path: Path) -> None:
    """A 50 KB Parquet file declaring 6 million rows of one timestamp is refused with one line, in bounded memory."""
    path = one_timestamp_parquet(tmp_path / "one_time.parquet", groups=60)
    assert path.stat().st_size < 100_000
    message, peak = measured(path)
    assert message == (
        "one_time.parquet has 6,000,000 rows, over the 5,000,000 limit: "
        "upload a shorter period, fewer columns or one meter at a time."
    )
    assert peak < PEAK_MB, peak


def test_one_timestamp_under_the_row_limit_is_refused_before_the_per_row_work(
    tmp_path: Path,
) -> None:
    """Two million rows of one text timestamp: parsed once per distinct time and refused early (it took ~520 MB)."""
    path = one_timestamp_parquet(tmp_path / "same.parquet", groups=20)
    message, peak = measured(path)
    assert message == "All readings share one timestamp: upload at least a few days of readings."
    assert peak < PEAK_MB, peak


def test_csv_header_of_millions_of_columns_refused(tmp_path: Path) -> None:
    """A CSV whose only line is a header of 2 million columns is refused from its first line."""
    path = tmp_path / "wide.csv"
    path.write_bytes(b"column_x," * 1_999_999 + b"column_x")
    message, peak = measured(path)
    assert message == (
        "wide.csv has 2,000,000 columns, over the 1,000 limit: keep the timestamp, the readings "
        "and a few covariates, then upload again."
    )
    assert peak < PEAK_MB, peak


def test_parquet_with_thousands_of_columns_refused(tmp_path: Path) -> None:
    """A Parquet file of 5,000 columns is refused from its footer, before any column is read."""
    column = pa.array(np.arange(8, dtype=np.float64))
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"meter_{i}_kwh": column for i in range(5_000)}), path)
    message, peak = measured(path)
    assert message is not None and message.startswith(
        "wide.parquet has 5,000 columns, over the 1,000"
    )
    assert peak < PEAK_MB, peak


def test_parquet_footer_too_big_to_parse_is_refused_unparsed() -> None:
    """A footer that declares 9 MB of metadata is refused from its length field alone."""
    footer = 9 * limits.MB
    data = b"PAR1" + bytes(footer) + footer.to_bytes(4, "little") + b"PAR1"
    with pytest.raises(DataError, match=r"^f.parquet describes its columns in 9 MB of metadata"):
        parse_upload(data, "f.parquet")


def test_parquet_that_decompresses_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The footer's decompressed size is checked before the columns are read."""
    monkeypatch.setattr(limits, "MAX_DECODED_MB", 1)
    table = pa.table(
        {"ts": pa.array([f"2024-01-01 {h:02d}:00" for h in range(24)]), "kwh": ["x" * 100_000] * 24}
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", use_dictionary=False)
    with pytest.raises(DataError, match=r"^d.parquet decompresses to 2 MB, over the 1 MB limit"):
        parse_upload(sink.getvalue().to_pybytes(), "d.parquet")


@pytest.mark.parametrize(
    ("limit", "value", "message"),
    [
        ("MAX_ROWS", 50, r"^r.csv has 72 rows, over the 50 limit"),
        ("MAX_CELLS", 100, r"^r.csv has 72 rows of 2 columns \(144 cells\), over the 100 limit"),
        ("MAX_COLUMNS", 1, r"^r.csv has 2 columns, over the 1 limit"),
    ],
)
def test_csv_shape_limits(
    monkeypatch: pytest.MonkeyPatch, limit: str, value: int, message: str
) -> None:
    """Rows, cells and columns of a CSV are counted from its bytes against each limit."""
    monkeypatch.setattr(limits, limit, value)
    with pytest.raises(DataError, match=message):
        parse_upload(hourly_csv(), "r.csv")


def test_csv_line_too_long() -> None:
    """One line of 300 KB in a CSV is refused before the table is read."""
    lines = hourly_csv().split(b"\n")
    lines[3] += b"," + b"9" * 300_000
    with pytest.raises(DataError, match=r"^l.csv has a line of 293 KB, over the 256 KB limit"):
        parse_upload(b"\n".join(lines), "l.csv")


def test_json_over_its_own_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON, which declares nothing and takes ~10x its size to read, has a smaller size limit."""
    monkeypatch.setattr(limits, "MAX_JSON_MB", 0.001)
    records = [{"timestamp": f"2024-01-01 {h:02d}:00", "kwh": h} for h in range(24)]
    with pytest.raises(
        DataError, match=r"^j.json is 0 MB of JSON, over the 0.001 MB limit for JSON"
    ):
        parse_upload(json.dumps(records).encode(), "j.json")


def test_json_columns_counted_after_reading() -> None:
    """Records with 1,001 keys are refused once read, before a role is guessed for each column."""
    records = [{f"k{i}": i for i in range(1_001)} for _ in range(3)]
    with pytest.raises(DataError, match=r"^k.json has 1,001 columns, over the 1,000 limit"):
        parse_upload(json.dumps(records).encode(), "k.json")


def test_deeply_nested_json_says_what_is_wrong() -> None:
    """JSON nested 100,000 levels deep gets a sentence, not "RecursionError"."""
    data = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(DataError) as err:
        parse_upload(data, "deep.json")
    text = str(err.value)
    assert text.startswith("deep.json is JSON nested too deeply to be a table")
    assert "Recursion" not in text and "\n" not in text


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("meter\x00.csv", "The file name contains a NUL byte"),
        ("meter\n# big.csv", "The file name contains a control character"),
        ("m" * 300 + ".csv", "The file name is 304 characters long, over the 255"),
    ],
)
def test_file_names_a_message_cannot_repeat(name: str, message: str) -> None:
    """A NUL byte, a line break or 300 characters in the name: one line that does not repeat the name."""
    with pytest.raises(DataError) as err:
        parse_upload(hourly_csv(), name)
    assert str(err.value).startswith(message)
    assert name not in str(err.value) and "\n" not in str(err.value)


def test_size_message_counts_like_the_limit() -> None:
    """One byte over 200 MB (of 1024 * 1024 bytes) reads "200.1 MB", never "200.0 MB, over 200"."""
    check_upload(200 * limits.MB, "exact.csv")
    with pytest.raises(DataError, match=r"^big.csv is 200.1 MB, over the 200 MB limit"):
        check_size(200 * limits.MB + 1, "big.csv")


def test_streamlit_config_matches_the_limits() -> None:
    """config.toml's maxUploadSize is the code's limit, and a hosted server shows no tracebacks."""
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    if "STREAMLIT_SERVER_MAX_UPLOAD_SIZE" not in os.environ:
        assert config["server"]["maxUploadSize"] == limits.MAX_UPLOAD_MB == 200
    assert config["client"]["showErrorDetails"] == "none"


def test_memory_error_becomes_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Running out of memory while parsing reads as a sentence about the upload, not "MemoryError"."""

    def too_big(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("core.ingest.data.clean", too_big)
    with pytest.raises(
        DataError, match=r"^m.csv needs more memory to read than this server allows"
    ):
        parse_upload(hourly_csv(), "m.csv")
