"""WattsUp core: everything that thinks, grouped in wings.

Data flows one way: ``ingest`` (bytes -> Dataset) -> ``detect`` (features -> scores -> calibration ->
thresholds -> events; ``core.detect.run.run_detection`` is THE detection run every front door calls)
-> ``forecast`` / ``explain`` / ``live`` -> ``charts`` (figures, tables, exports) -> front doors
(``commands`` for ``python -m core``, ``ui`` for the Streamlit pages). ``store`` (model files, bounded
memory) sits below ``detect``; ``errors`` and ``quiet`` below everything.

Import rules (import-linter contracts in ``pyproject.toml``, run by the test command): a wing imports only
wings below it; only ``core.ui`` imports streamlit; there are no circles.
"""
