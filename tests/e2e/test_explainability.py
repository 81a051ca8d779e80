"""Explaining one anomalous event: from the detection page's events table to its SHAP chart."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import (
    SLOW_MS,
    STEP_MS,
    assert_no_exception,
    open_app,
    plotly_charts,
    shot,
    wait_for_trace,
    wait_idle,
)

pytestmark = pytest.mark.e2e

# The explanation sentence names the top drivers ("it stood out mostly because of ...").
SENTENCE = re.compile(r"because of|driven most|moved most", re.I)
ROW_PX = 35  # Streamlit's dataframe row (and header) height


def select_first_event(page) -> None:
    """Tick the first row of the events table (the row-selection column at its left edge)."""
    table = page.locator('[data-testid="stDataFrame"]').last
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    assert box, "events table not drawn"
    page.mouse.click(box["x"] + 12, box["y"] + ROW_PX + ROW_PX / 2)


def test_event_explanation_shows_shap_chart_and_sentence(page, app_url):
    """Selecting an event in the detection page's table and pressing its explain button opens
    Explainability on that event: a SHAP waterfall and a plain-language sentence."""
    open_app(page, app_url, "anomaly_detection", "Anomaly detection", SLOW_MS)
    wait_for_trace(page, "Anomalies", timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)

    explain = page.get_by_role("button", name=re.compile(r"explain", re.I))
    select_first_event(page)
    expect(explain.first).to_be_visible(timeout=STEP_MS)
    wait_idle(page)
    explain.first.click()
    expect(page).to_have_url(re.compile(r"/explainability"), timeout=STEP_MS)

    page.wait_for_function(
        """() => [...document.querySelectorAll('.js-plotly-plot')].some((el) =>
              (el._fullData || []).some((t) => ['waterfall', 'bar'].includes(t.type)
                                               && (t._length || 0) >= 2))""",
        timeout=SLOW_MS,
    )
    sentence = page.locator('[data-testid="stMain"] [data-testid="stAlertContentInfo"]').filter(
        has_text=SENTENCE
    )
    expect(sentence.first).to_be_visible(timeout=STEP_MS)
    wait_idle(page, SLOW_MS)
    shot(page, "explainability")

    warning = page.locator('[data-testid="stAlertContentWarning"]')
    assert warning.count() == 0, f"explainability warned: {warning.all_inner_texts()}"
    shap = [
        t for c in plotly_charts(page) for t in c["traces"] if t["type"] in ("waterfall", "bar")
    ]
    assert shap and max(t["n"] for t in shap) >= 2, shap
    assert len(sentence.first.inner_text().split()) >= 8
    assert_no_exception(page)
