"""Keep full garbage collections cheap, in the app and in the API, and the app's memory low.

Streamlit calls ``gc.collect(2)`` when a run ends (``runner.postScriptGC``, on by default). A full
collection walks every container object the process tracks, and once pandas, scikit-learn, plotly
and the app are imported that is about 240,000 objects: 140 ms on the 2-core benchmark machine, for
every run of every session, with the interpreter lock held. At 20 sessions moving a slider together
it was half of the server's work (``benchmarks/load.py``).

``freeze_imports()`` moves the objects alive right after a full collection into the permanent
generation (``gc.freeze``), which later collections skip: modules, classes, functions, the fitted
models loaded so far. It runs whenever modules were imported since it last ran (the first page
run, the first model load, the first SHAP explanation...), so it settles after a few runs; objects
made later (frames, figures, session state) are collected as before. The API calls it after each
detection turn (``core.api.stored.fitting_turn``): there a full collection the interpreter started by
itself, every so many allocations, cost ~120 ms inside a call that takes ~10 ms (one in ~200 calls).
The price, once per freeze:
cyclic garbage made of objects alive at that moment is never collected (the runs in flight then,
a few small namespaces).

Memory on a small host (Streamlit Community Cloud gives an app about 1 GB; ``benchmarks/app_memory.py``
measures a session that fits every model): TensorFlow alone is about 470 MB once imported, so what
the rest may take is small. glibc keeps memory that fits (Keras, Prophet, SHAP) freed in its arenas
instead of giving it back, and makes up to 8 arenas per core as threads contend (TensorFlow's
thread pools do): ``limit_malloc_arenas()`` (called by ``require_router``) caps them at
``MALLOC_ARENAS``, and ``release_memory()`` (after each long step of ``core.ui.status.prepared``)
collects garbage and hands the free pages back (``malloc_trim``). Neither changes a result; on a
C library without these calls (macOS, musl) both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import sys
import threading

_lock = threading.Lock()
_modules_frozen = 0  # len(sys.modules) at the last freeze
# 2 arenas: on a year of hourly data, three LSTM fits in a row peaked 50-80 MB lower than with
# glibc's default (16 arenas on 2 cores)
MALLOC_ARENAS = 2
M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)
_arenas_limited = False


@functools.cache
def _libc():
    """glibc, or None where the process's C library has no ``mallopt`` / ``malloc_trim``."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_malloc_arenas() -> bool:
    """Cap glibc's malloc arenas at ``MALLOC_ARENAS`` (once per process); True when it did now."""
    global _arenas_limited
    if _arenas_limited:
        return False
    with _lock:
        if _arenas_limited:
            return False
        _arenas_limited = True
        libc = _libc()
        return bool(libc is not None and libc.mallopt(M_ARENA_MAX, MALLOC_ARENAS))


def release_memory() -> None:
    """Collect garbage, then give the C heap's free pages back to the system (``malloc_trim``)."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def freeze_imports() -> bool:
    """``gc.collect()`` then ``gc.freeze()`` when modules were imported since the last call; True
    when it froze. Cheap otherwise (one length compared)."""
    global _modules_frozen
    if len(sys.modules) <= _modules_frozen:
        return False
    with _lock:
        count = len(sys.modules)
        if count <= _modules_frozen:
            return False
        gc.collect()
        gc.freeze()
        _modules_frozen = count
        return True
