"""Live wing: the streaming engine ``step(state, points) -> state``. It scores, flags and types events
with the detect wing's own functions (same thresholds, mask, profile, events), so live and offline agree.

May import: ``core.detect`` and what it may import.
"""
