"""The one status / progress / error box: any failure reads as one line on every page, no traceback."""

from __future__ import annotations

import logging

import pytest

import core.ui.cache
from core.errors import DataError
from core.ui.status import one_line
from tests.app.conftest import app, detection

# page -> (the cache's "is it ready?" function, the step the page runs in its status box)
PREPARED_STEPS = {
    "pages/2_forecasting.py": ("forecast_ready", "forecast"),
    "pages/3_anomaly_detection.py": ("model_ready", "fitted_detector"),
    "pages/4_explainability.py": ("model_ready", "fitted_detector"),
    "pages/5_live_simulation.py": ("live_ready", "live_detector"),
}


@pytest.mark.parametrize("page", PREPARED_STEPS, ids=lambda p: p.split("/")[-1][:-3])
def test_unexpected_error_in_a_prepared_step_is_one_line(page, monkeypatch, caplog):
    """An exception other than ``DataError`` in a page's status box shows one ``st.error`` line
    without its type or second line, no exception element, and the traceback in the server log."""
    ready, work = PREPARED_STEPS[page]

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire\nsecond line of detail")

    monkeypatch.setattr(core.ui.cache, ready, lambda *args, **kwargs: False)
    monkeypatch.setattr(core.ui.cache, work, broken)
    at = app(detection_choice=detection(), forecast_lstm=False)
    with caplog.at_level(logging.ERROR, logger="core.ui.status"):
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1
    message = at.error[0].value
    assert "disk on fire" in message and "\n" not in message.strip()
    assert "RuntimeError" not in message and "second line" not in message
    assert [s.state for s in at.status] == ["error"]
    logged = [r for r in caplog.records if r.name == "core.ui.status" and r.exc_info]
    assert logged and logged[0].exc_info[0] is RuntimeError


def test_data_error_reads_as_written_and_others_get_what_to_do():
    """A ``DataError`` is shown as its own line; any other error says what failed and what to do."""
    assert one_line(DataError("no timestamp column: pick one"), "Reading", "Retry.") == (
        "no timestamp column: pick one"
    )
    assert one_line(KeyError("value"), "Scoring", "Pick another detector.") == (
        "Scoring failed: 'value'. Pick another detector."
    )
    assert one_line(RuntimeError(), "Scoring", "Retry.") == "Scoring failed unexpectedly. Retry."
