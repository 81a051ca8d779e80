"""Store wing: fitted models on disk (never pickled; a type allow-list for skops), library versions,
and a bounded in-memory LRU.

May import: ``core.errors``. It sits below ``core.detect``: the loader is handed the detector registry.
"""
