"""Starting child processes safely from anywhere, the Streamlit app included.

``spawn_safe_main()``: Python's ``spawn`` start method re-runs the parent's ``__main__`` in every
child: by module name when it has one (``python -m core``, pytest), else by running its file. Inside
Streamlit (the app, AppTest) ``__main__`` is the page script, which must never run in a worker
process (it would draw a page, or fail without a session). While children start, a bare module
stands in for a main that is only a file. Used by the fleet's Dask cluster and the worker's
``--processes``.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def spawn_safe_main() -> Iterator[None]:
    """Within the block, children spawned re-import ``__main__`` by name only, never run a file."""
    main = sys.modules.get("__main__")
    if (
        main is None
        or getattr(main, "__spec__", None) is not None
        or not getattr(main, "__file__", None)
    ):
        yield
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main
