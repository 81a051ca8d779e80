"""``parse_upload`` and ``guess_schema`` in a worker process, so one upload can fail alone.

Every upload is read in a fresh child (:mod:`core.ingest.worker`) under a memory limit
(``limits.PARSE_MEMORY_MB`` of address space on top of its imports) and a time limit
(``limits.PARSE_TIMEOUT_S``); at most ``limits.PARSE_WORKERS`` read at once, so the server never
holds more than that many limits' worth for uploads. A file that needs more, a reader that hangs
or crashes, ends that child only: the caller gets a one-line :class:`DataError`, the server and
every other session carry on. The reply is data only (:mod:`core.ingest.wire`: JSON and Arrow
IPC), never a pickle.

Why a fresh interpreter (``subprocess``) rather than ``os.fork`` of the server or a forkserver:
the Streamlit server is multi-threaded, and a fork copies locks other threads may hold (a
deadlock in the child); a forkserver re-imports the launching script in every child and outlives
it. A fresh interpreter costs about a second of imports per read, which the caches in
``core.ui.cache`` pay once per file and settings.

Where the platform cannot fork at all (Windows), there is no ``resource`` module to set the
limits with either: the functions read in-process, behind the same declared-size checks.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from core.errors import DataError
from core.ingest import limits, wire
from core.ingest.columns import SchemaGuess
from core.ingest.data import CleanOptions, Dataset, Schema, guess_schema, parse_upload
from core.ingest.declared import check_upload
from core.ingest.worker import THREAD_ENV

__all__ = ["CAN_FORK", "guess_schema_guarded", "parse_upload_guarded"]

CAN_FORK = hasattr(os, "fork") and bool(sys.executable)
WORKER = "core.ingest.worker"  # the module the child runs (python -m)
ROOT = Path(__file__).resolve().parents[2]  # the folder that holds the core package
CPU_FACTOR = 4  # CPU seconds per second of the time limit: Arrow reads on a few threads
MAX_ERROR_CHARS = 500  # a worker's message is shown as is, but never more than one short line
MAX_REQUEST_BYTES = 16 * 1024  # fits any pipe buffer, so writing it never waits for the worker

_slots = threading.BoundedSemaphore(limits.PARSE_WORKERS)
_log = logging.getLogger(__name__)


def parse_upload_guarded(
    data: bytes,
    filename: str,
    schema: Schema = Schema(),
    options: CleanOptions = CleanOptions(),
    name: str | None = None,
) -> Dataset:
    """:func:`core.ingest.data.parse_upload` in a worker process under the memory and time limits."""
    check_upload(len(data), filename)  # after this the name is safe on a command line
    if not CAN_FORK:
        return parse_upload(data, filename, schema, options, name)
    request = {
        "op": "parse",
        "filename": filename,
        "schema": asdict(schema),
        "options": asdict(options),
        "name": name,
    }
    meta, tables = _run(request, data, filename)
    return wire.dataset_from(meta, tables, data, filename, schema, options)


def guess_schema_guarded(data: bytes, filename: str) -> SchemaGuess:
    """:func:`core.ingest.data.guess_schema` in a worker process under the same limits."""
    check_upload(len(data), filename)
    if not CAN_FORK:
        return guess_schema(data, filename)
    meta, _ = _run({"op": "guess", "filename": filename}, data, filename)
    return wire.guess_from(meta, filename)


def _run(request: dict[str, Any], data: bytes, filename: str) -> tuple[dict[str, Any], list]:
    """Start a worker, feed it the request and ``data``, and return its reply, or raise the reason."""
    header = json.dumps(request).encode()
    if len(header) > MAX_REQUEST_BYTES:
        raise DataError(
            f"The column names chosen for {filename} are {len(header) // 1024} KB long together: "
            "choose fewer covariates, or shorten the names in the file."
        )
    timeout, memory = limits.PARSE_TIMEOUT_S, limits.PARSE_MEMORY_MB
    if not _slots.acquire(timeout=timeout):
        raise DataError(
            f"The server is busy reading other uploads: try {filename} again in a minute."
        )
    try:
        done = _worker(header, data, timeout, memory)
    except subprocess.TimeoutExpired as err:
        raise DataError(
            f"Reading {filename} took longer than {timeout} s, the limit for one upload: "
            "upload a shorter period, fewer columns or one meter at a time."
        ) from err
    finally:
        _slots.release()
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        _log.warning("ingest worker for %r exited %s: %s", filename, done.returncode, tail)
        if done.returncode < 0 or any("MemoryError" in line for line in tail):  # killed, or crashed
            raise DataError(_out_of_memory(filename, memory))
        raise DataError(
            f"{filename} could not be read: the reader stopped unexpectedly (exit {done.returncode}); "
            "check it is a CSV, JSON or Parquet table of timestamps and readings."
        )
    meta, tables = wire.unpack(done.stdout, filename)
    if meta.get("ok") is True:
        return meta, tables
    error = meta.get("error")
    if error == "memory" or not isinstance(error, str) or not error.strip():
        raise DataError(_out_of_memory(filename, memory))
    raise DataError(error.strip().splitlines()[0][:MAX_ERROR_CHARS])


def _worker(header: bytes, data: bytes, timeout: int, memory: int) -> subprocess.CompletedProcess:
    """Run one worker to its end (killed and reaped at ``timeout``; TimeoutExpired then)."""
    # -P: the current folder is not put on sys.path, so only ROOT's core package can be imported
    cmd = [sys.executable, "-P", "-m", WORKER, str(memory), str(timeout * CPU_FACTOR)]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_worker_env(),
    )
    try:
        # Small enough for the pipe's buffer, so this never waits; data then follows without a copy.
        proc.stdin.write(len(header).to_bytes(8, "big") + header)
        out, err = proc.communicate(input=data, timeout=timeout)
    except BrokenPipeError:  # the worker ended before reading: its exit status says why
        out, err = proc.communicate()
    except BaseException:  # the time limit, or the server stopping: never leave a worker behind
        proc.kill()
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _out_of_memory(filename: str, memory: int) -> str:
    return (
        f"Reading {filename} stopped: it needed more than the {memory:,} MB of memory one upload "
        "may use (or the reader crashed): upload a shorter period, fewer columns or one meter at a time."
    )


def _worker_env() -> dict[str, str]:
    env = {**os.environ, **THREAD_ENV}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env
