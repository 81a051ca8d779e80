"""The one exception type for bad input, kept apart so readers and parsers can raise it too."""

from __future__ import annotations


class DataError(ValueError):
    """Input that cannot be used. ``str(err)`` is one line: what is wrong, where, what to do."""
