"""Explaining one anomalous event: from the detection page to the SHAP chart and its sentence."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import (
    SLOW_MS,
    STEP_MS,
    assert_no_exception,
    go_to,
    open_app,
    plotly_charts,
    shot,
    wait_for_trace,
    wait_idle,
)

pytestmark = pytest.mark.e2e

# The sentence names a driver and says which way it pushed the reading.
SENTENCE = re.compile(r"\b(because|mainly|driven|pushed|raised|lowered|contribut)", re.I)


def test_event_explanation_shows_shap_chart_and_sentence(page, app_url):
    """Opening an event's explanation from the detection page shows a SHAP bar chart and a
    plain-language sentence about that event."""
    open_app(page, app_url, "anomaly_detection", "Anomaly detection", SLOW_MS)
    wait_for_trace(page, "Anomalies", timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)

    button = page.locator('[data-testid="stButton"]').get_by_role(
        "button", name=re.compile(r"explain", re.I)
    )
    main_links = page.locator('[data-testid="stMain"]').get_by_role(
        "link", name=re.compile(r"explain", re.I)
    )
    if button.count():
        button.first.click()
    elif main_links.count():
        main_links.first.click()
    else:  # no shortcut on the page: the event choice lives on the Explainability page itself
        go_to(page, "Explainability", SLOW_MS)
    expect(page).to_have_url(re.compile(r"/explainability"), timeout=STEP_MS)

    page.wait_for_function(
        """() => [...document.querySelectorAll('.js-plotly-plot')].some(
              (el) => (el._fullData || []).some((t) => t.type === 'bar' && (t._length || 0) >= 2))""",
        timeout=SLOW_MS,
    )
    sentence = page.locator('[data-testid="stMain"] [data-testid="stMarkdownContainer"]').filter(
        has_text=SENTENCE
    )
    expect(sentence.first).to_be_visible(timeout=STEP_MS)
    wait_idle(page, SLOW_MS)
    shot(page, "explainability")

    bars = [t for c in plotly_charts(page) for t in c["traces"] if t["type"] == "bar"]
    assert bars and max(t["n"] for t in bars) >= 2, bars
    assert len(sentence.first.inner_text().split()) >= 6
    assert_no_exception(page)
