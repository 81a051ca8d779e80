"""Detect wing: features, ``detectors/`` (one small file each, a ``REGISTRY``), the week profile,
calibrated scoring, thresholds, events, evaluation, and ``run.run_detection``: the one detection run
every front door (pages, CLI, benchmarks, live replay) calls.

May import: ``core.ingest``, ``core.store``, ``core.errors``, ``core.quiet``.
"""
