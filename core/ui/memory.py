"""Keep the garbage collection Streamlit runs after every script run cheap.

Streamlit calls ``gc.collect(2)`` when a run ends (``runner.postScriptGC``, on by default). A full
collection walks every container object the process tracks, and once pandas, scikit-learn, plotly
and the app are imported that is about 240,000 objects: 140 ms on the 2-core benchmark machine, for
every run of every session, with the interpreter lock held. At 20 sessions moving a slider together
it was half of the server's work (``benchmarks/load.py``).

``freeze_imports()`` moves the objects alive right after a full collection into the permanent
generation (``gc.freeze``), which later collections skip: modules, classes, functions, the fitted
models loaded so far. It runs whenever modules were imported since it last ran (the first page
run, the first model load, the first SHAP explanation...), so it settles after a few runs; objects
made later (frames, figures, session state) are collected as before. The price, once per freeze:
cyclic garbage made of objects alive at that moment is never collected (the runs in flight then,
a few small namespaces).
"""

from __future__ import annotations

import gc
import sys
import threading

_lock = threading.Lock()
_modules_frozen = 0  # len(sys.modules) at the last freeze


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
