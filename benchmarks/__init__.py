"""Timing targets live here, never in tests. Each module exposes ``run() -> list[dict]``."""
