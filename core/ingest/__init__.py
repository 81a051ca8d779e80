"""Ingest wing: bytes -> validated, typed ``Dataset`` (readers, columns, timestamps, cleaning, the
quality report) and the bundled samples.

May import: ``core.errors``. Nothing else in ``core``.
"""
