"""Timing targets live here, never in tests. Each section module exposes ``run() -> list[dict]``;
the ``_*.py`` modules are the harness behind ``python -m benchmarks``."""
