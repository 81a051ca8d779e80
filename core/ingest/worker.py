"""The child process one upload is read in: ``python -m core.ingest.worker MEMORY_MB CPU_S``.

Stdin holds the request (an 8-byte big-endian length, then JSON: ``op`` ``parse`` or ``guess``, the
file name, the schema and options asked for), then the file's bytes. After its imports the worker caps its own address space at
what they took plus ``MEMORY_MB`` (``RLIMIT_AS``; so allocation fails with MemoryError instead of
the host running out), caps CPU time (a backstop should the server die and leave it running), and
writes one :mod:`core.ingest.wire` reply to the stdout it was started with. Anything a library
prints goes to stderr, so it cannot corrupt the reply. Started by :mod:`core.ingest.guarded`.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from core.errors import DataError
from core.ingest import wire
from core.ingest.data import CleanOptions, Schema, guess_schema, parse_upload

# Numeric libraries start thread pools (and reserve address space per thread) that reading a
# table never uses; core.ingest.guarded sets these in the worker's environment.
THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
MB = 1024 * 1024


def main(argv: list[str]) -> int:
    reply = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints from here on land in stderr, never in the reply
    memory_mb, cpu_s = int(argv[1]), int(argv[2])
    stdin = sys.stdin.buffer
    request = json.loads(stdin.read(int.from_bytes(stdin.read(8), "big")))
    data = stdin.read()
    _limit(memory_mb, cpu_s)
    try:
        meta, frames = _serve(request, data)
    except DataError as err:
        meta, frames = {"ok": False, "error": str(err)}, []
    except MemoryError:  # outside parse_upload's own handling (the schema guess, the reply)
        meta, frames = {"ok": False, "error": "memory"}, []
    del data
    # A MemoryError while writing ends the worker with exit 1 and "MemoryError" on stderr, which
    # the server reports as the memory limit; a half-written reply is never read.
    wire.write(reply, meta, frames)
    reply.close()
    return 0


def _serve(request: dict[str, Any], data: bytes) -> tuple[dict[str, Any], list[Any]]:
    filename = request["filename"]
    if request["op"] == "guess":
        return wire.guess_reply(guess_schema(data, filename)), []
    schema = request["schema"]
    schema = Schema(**{**schema, "covariate_cols": tuple(schema["covariate_cols"])})
    options = CleanOptions(**request["options"])
    ds = parse_upload(data, filename, schema, options, name=request["name"])
    return wire.dataset_reply(ds)


def _limit(memory_mb: int, cpu_s: int) -> None:
    """Address space: what is mapped now plus ``memory_mb``; CPU seconds: ``cpu_s``."""
    import resource

    now = _address_space()
    if now is not None:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        soft = now + memory_mb * MB
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = cpu_s if hard == resource.RLIM_INFINITY else min(cpu_s, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _address_space() -> int | None:
    """Bytes of address space mapped now (Linux ``/proc``); None where unknown (then no cap)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


if __name__ == "__main__":
    sys.exit(main(sys.argv))
