"""A bounded, thread-safe LRU shared by every session of a server (uploads, fitted models, forecasts)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class BoundedLRU:
    """A thread-safe LRU dict: the UI holds one per kind (``st.cache_resource``)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                old, _ = self._items.popitem(last=False)
                self._key_locks.pop(old, None)

    def key_lock(self, key: Hashable) -> threading.Lock:
        """One lock per key, so two sessions asking for the same model fit it once."""
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        found = self.get(key)
        if found is not None:
            return found
        with self.key_lock(key):
            found = self.get(key)
            if found is None:
                found = make()
                self.put(key, found)
            return found
