"""The LSTM off (``WATTSUP_LSTM=off``, the default on a hosted server: ``core.ui.hosting``): no
page offers it, each says why where it would have been, and the rest works as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.forecast.forecasting import MODEL_NAMES
from core.ui.hosting import HOSTED_VAR, LSTM_VAR, lstm_enabled
from tests.app.conftest import app, chart_spec, detection, open_page

OFF_WORDS = "The LSTM is off on this server"


@pytest.fixture
def lstm_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LSTM_VAR, "off")


def test_lstm_follows_its_flag_then_the_host(monkeypatch) -> None:
    """``WATTSUP_LSTM`` decides when set; unset, the LSTM is off on a hosted server only."""
    monkeypatch.delenv(LSTM_VAR, raising=False)
    monkeypatch.delenv(HOSTED_VAR, raising=False)
    assert lstm_enabled(Path("/home/me/wattsup"))
    assert not lstm_enabled(Path("/mount/src/wattsup"))
    monkeypatch.setenv(HOSTED_VAR, "1")
    assert not lstm_enabled(Path("/home/me/wattsup"))
    monkeypatch.setenv(LSTM_VAR, "on")
    assert lstm_enabled(Path("/mount/src/wattsup"))
    monkeypatch.setenv(HOSTED_VAR, "0")
    monkeypatch.setenv(LSTM_VAR, "false")
    assert not lstm_enabled(Path("/home/me/wattsup"))


def test_detection_page_offers_no_lstm_and_says_why(lstm_off) -> None:
    at = open_page(app(detection_choice=detection()), "pages/3_anomaly_detection.py")
    options = at.multiselect(key="detect_detectors").options
    assert options and "LSTM" not in " ".join(options)
    assert "Isolation Forest" in " ".join(options)
    assert any(OFF_WORDS in str(c.value) for c in at.caption)


def test_detection_page_offers_the_lstm_when_on(monkeypatch) -> None:
    monkeypatch.setenv(LSTM_VAR, "on")
    at = open_page(app(detection_choice=detection()), "pages/3_anomaly_detection.py")
    assert "LSTM" in " ".join(at.multiselect(key="detect_detectors").options)
    assert not any(OFF_WORDS in str(c.value) for c in at.caption)


def test_explainability_offers_no_lstm_explainer(lstm_off) -> None:
    at = open_page(app(detection_choice=detection()), "pages/4_explainability.py")
    options = " ".join(at.radio(key="explain_method").options)
    assert "LSTM" not in options and "Isolation Forest" in options
    assert any(OFF_WORDS in str(c.value) for c in at.caption)


@pytest.mark.slow
def test_forecasting_without_the_lstm_overlay_or_backtest_row(lstm_off) -> None:
    """Even with the overlay's toggle kept on, no LSTM is fitted: no toggle, no trace, and the
    backtest compares Prophet with same hour last week only."""
    at = open_page(app(forecast_lstm=True, forecast_days=7), "pages/2_forecasting.py")
    assert not [t for t in at.toggle if t.key and "forecast_lstm" in t.key]
    names = [t.get("name") for t in chart_spec(at, "forecast_chart")["data"]]
    assert "Prophet forecast" in names and "LSTM forecast" not in names
    assert any(OFF_WORDS in str(c.value) for c in at.caption)
    at.button(key="forecast_backtest").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = [d.value for d in at.dataframe if "mae" in d.value.columns][0]
    assert set(table["model"]) == {MODEL_NAMES["prophet"], MODEL_NAMES["seasonal_naive"]}
