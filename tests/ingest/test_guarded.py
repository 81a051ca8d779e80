"""Uploads read in a worker process: the same Dataset, and every way a worker can fail ends in one line.

Misbehaving workers are ``tests/ingest/hostile_worker.py``, started in place of the real one.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pandas as pd
import pytest

from core.ingest import guarded, limits
from core.ingest.data import CleanOptions, DataError, Schema, guess_schema, parse_upload
from core.ingest.guarded import guess_schema_guarded, parse_upload_guarded
from tests.conftest import SAMPLE_DATA

UK = SAMPLE_DATA / "taylor_uk_demand.csv"
pytestmark = pytest.mark.skipif(not guarded.CAN_FORK, reason="no worker process on this platform")


def repeated_csv(rows: int) -> bytes:
    """A CSV of ``rows`` identical lines: megabytes from a few bytes, a lot of memory to read."""
    return b"timestamp,kwh\n" + b"2024-01-01 00:00:00,1.5\n" * rows


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Run ``hostile_worker`` in the given mode instead of the real worker; yields its pid file."""

    def use(mode: str) -> Path:
        monkeypatch.setattr(guarded, "WORKER", "tests.ingest.hostile_worker")
        monkeypatch.setenv("HOSTILE_WORKER", mode)
        monkeypatch.setenv("HOSTILE_WORKER_PID", str(tmp_path / "pid"))
        monkeypatch.setenv("HOSTILE_WORKER_TRAP", str(tmp_path / "trap"))
        return tmp_path

    return use


def test_worker_returns_the_same_dataset() -> None:
    """Frame, raw table, report, name, unit, step and digest match parse_upload exactly."""
    data, options = UK.read_bytes(), CleanOptions(freq="1h")
    here = parse_upload(data, UK.name, options=options, name="UK")
    there = parse_upload_guarded(data, UK.name, options=options, name="UK")
    pd.testing.assert_frame_equal(there.frame, here.frame)
    pd.testing.assert_frame_equal(there.raw, here.raw)
    assert there.frame.index.freq == here.frame.index.freq
    assert there.report.to_dict() == here.report.to_dict()
    assert (there.name, there.unit, there.freq, there.digest, there.schema) == (
        here.name,
        here.unit,
        here.freq,
        here.digest,
        here.schema,
    )
    assert guess_schema_guarded(data, UK.name) == guess_schema(data, UK.name)


def test_refusals_in_the_worker_keep_their_message() -> None:
    """A DataError raised in the worker reaches the caller word for word."""
    with pytest.raises(DataError) as err:
        parse_upload_guarded(b"a,b\n1,2\n3,4\n", "t.csv")
    assert str(err.value).startswith("No timestamp column found in t.csv (columns: a, b)")


def test_file_needing_too_much_memory_fails_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the worker's memory limit an upload fails with one line, and the next upload still reads."""
    monkeypatch.setattr(limits, "PARSE_MEMORY_MB", 16)
    with pytest.raises(DataError) as err:
        parse_upload_guarded(repeated_csv(1_000_000), "big.csv")
    assert "memory" in str(err.value) and "\n" not in str(err.value)
    monkeypatch.setattr(limits, "PARSE_MEMORY_MB", 2048)
    assert len(parse_upload_guarded(UK.read_bytes(), UK.name).frame) > 0


def test_hanging_worker_is_killed_at_the_time_limit(
    monkeypatch: pytest.MonkeyPatch, hostile
) -> None:
    """A worker that never answers is killed when the time limit passes; the caller gets one line."""
    folder = hostile("hang")
    monkeypatch.setattr(limits, "PARSE_TIMEOUT_S", 2)
    with pytest.raises(
        DataError, match=r"^Reading x.csv took longer than 2 s, the limit for one upload"
    ):
        parse_upload_guarded(b"timestamp,kwh\n", "x.csv")
    pid = int((folder / "pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_crashing_worker_reads_as_one_line(hostile) -> None:
    """A worker killed by a signal (abort, the kernel's OOM killer) is reported, not raised."""
    hostile("abort")
    with pytest.raises(DataError, match=r"^Reading x.csv stopped: it needed more than the"):
        parse_upload_guarded(b"timestamp,kwh\n", "x.csv")


def test_pickle_reply_is_refused_and_never_loaded(hostile) -> None:
    """A worker that answers with a pickle is refused; the pickle's payload never runs."""
    folder = hostile("pickle")
    with pytest.raises(
        DataError, match=r"^The worker that read x.csv sent back a reply that cannot be read"
    ):
        parse_upload_guarded(b"timestamp,kwh\n", "x.csv")
    assert not (folder / "trap").exists()


def test_truncated_reply_is_refused(hostile) -> None:
    """A reply that announces more bytes than it holds is refused with one line."""
    hostile("truncated")
    with pytest.raises(
        DataError, match=r"^The worker that read x.csv sent back a reply that cannot be read"
    ):
        guess_schema_guarded(b"timestamp,kwh\n", "x.csv")


def test_worker_message_is_cut_to_one_line(hostile) -> None:
    """Whatever a worker says, the caller shows its first line only."""
    hostile("multiline")
    with pytest.raises(DataError) as err:
        parse_upload_guarded(b"timestamp,kwh\n", "x.csv")
    assert str(err.value) == "first line"


def test_busy_server_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """When every worker slot stays taken past the time limit, the upload waits no longer."""
    slots = threading.BoundedSemaphore(1)
    slots.acquire()
    monkeypatch.setattr(guarded, "_slots", slots)
    monkeypatch.setattr(limits, "PARSE_TIMEOUT_S", 1)
    with pytest.raises(
        DataError, match=r"^The server is busy reading other uploads: try x.csv again"
    ):
        parse_upload_guarded(b"timestamp,kwh\n", "x.csv")


def test_name_is_checked_before_a_worker_starts(hostile) -> None:
    """A NUL byte in the name is refused in the server, so it never reaches a command line."""
    folder = hostile("hang")
    with pytest.raises(DataError, match=r"^The file name contains a NUL byte"):
        parse_upload_guarded(b"timestamp,kwh\n", "x\x00.csv")
    assert not (folder / "pid").exists()


def test_oversized_request_is_refused_before_a_worker_starts(hostile) -> None:
    """Column choices too long to hand to a worker in one pipe write are refused with one line."""
    folder = hostile("hang")
    schema = Schema(covariate_cols=tuple("c" * 1_000 + str(i) for i in range(20)))
    with pytest.raises(
        DataError, match=r"^The column names chosen for x.csv are 19 KB long together"
    ):
        parse_upload_guarded(b"timestamp,kwh\n", "x.csv", schema)
    assert not (folder / "pid").exists()
