"""A stand-in for ``core.ingest.worker`` that misbehaves on purpose (``HOSTILE_WORKER`` says how).

Run by ``core.ingest.guarded`` when a test points ``guarded.WORKER`` here; not a test module.
``HOSTILE_WORKER_PID``, when set, is a file the worker writes its pid to, so a test can check the
process is gone afterwards.
"""

from __future__ import annotations

import os
import pickle
import sys
import time

from core.ingest import wire


class _Trap:
    """Unpickling this creates the file named by ``HOSTILE_WORKER_TRAP``: proof a pickle was loaded."""

    def __reduce__(self):
        return (open, (os.environ["HOSTILE_WORKER_TRAP"], "w"))


def main() -> int:
    if os.environ["HOSTILE_WORKER"] != "hang":
        sys.stdin.buffer.read()
    if os.environ.get("HOSTILE_WORKER_PID"):
        with open(os.environ["HOSTILE_WORKER_PID"], "w") as f:
            f.write(str(os.getpid()))
    mode = os.environ["HOSTILE_WORKER"]
    out = sys.stdout.buffer
    if mode == "hang":
        time.sleep(600)
    elif mode == "abort":
        os.abort()
    elif mode == "pickle":
        out.write(pickle.dumps(_Trap()))
    elif mode == "truncated":
        out.write(wire.MAGIC + (1 << 40).to_bytes(8, "big") + b"{}")
    elif mode == "multiline":
        wire.write(out, {"ok": False, "error": "first line\nsecond line"})
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
