"""``core.memory``: the malloc arena cap is set once per process, and releasing memory is safe
to call at any time (it only collects garbage and trims the C heap)."""

from __future__ import annotations

import gc

from core import memory


def test_arena_cap_is_applied_once_per_process() -> None:
    """A second call does nothing (the cap is a process setting, applied at the first page run)."""
    memory.limit_malloc_arenas()
    assert memory.limit_malloc_arenas() is False


def test_release_memory_collects_cyclic_garbage() -> None:
    """Objects kept alive only by a reference cycle are gone after ``release_memory``."""
    import weakref

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    gc.disable()
    try:
        memory.release_memory()
    finally:
        gc.enable()
    assert gone() is None
