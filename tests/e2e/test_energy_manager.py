"""The studio as an energy manager sees it (issue 19), in a real browser: at phone width the chart
comes first and nothing scrolls sideways; over-use and under-use carry their signs; the carpet
plot is drawn with its anomalies outlined; clicking the largest event zooms the chart to it."""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from .conftest import SLOW_MS, STEP_MS, assert_no_exception, open_app, wait_for_trace, wait_idle

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def _metric(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=label)
    )
    return metric.first.locator('[data-testid="stMetricValue"]').inner_text()


def test_phone_width_chart_first_signed_energy_and_carpet(page, app_url):
    """At 390 px: no horizontal scrolling, the anomaly chart above the detection settings, over-use
    positive and under-use negative, and the carpet plot's heatmap with red outlined cells."""
    page.set_viewport_size(PHONE)
    open_app(page, app_url, "anomaly_detection", "Anomaly detection", SLOW_MS)
    wait_for_trace(page, "Anomalies", timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways at 390 px: {width}"
    # the anomaly chart (the plot holding the "Anomalies" trace), not whichever plot came first,
    # against the settings heading; polled: a rerun still laying the page out can move either
    tops = """() => {
        const charts = [...document.querySelectorAll('.js-plotly-plot')]
            .filter((el) => (el._fullData || []).some((t) => t.name === 'Anomalies'))
            .map((el) => el.getBoundingClientRect().top + window.scrollY);
        const heading = [...document.querySelectorAll('*')].find(
            (el) => el.children.length === 0 && el.textContent.trim() === 'Detection settings');
        return [charts.length ? Math.min(...charts) : null,
                heading ? heading.getBoundingClientRect().top + window.scrollY : null];
    }"""
    with contextlib.suppress(PlaywrightTimeoutError):  # the assertion below reports the positions
        page.wait_for_function(
            f"() => {{ const [c, s] = ({tops})(); return c !== null && s !== null && c < s; }}",
            timeout=STEP_MS,
        )
    chart_top, settings_top = page.evaluate(tops)
    assert chart_top < settings_top, ("the controls come before the chart", chart_top, settings_top)
    over, under = _metric(page, "Over-use"), _metric(page, "Under-use")
    assert over.startswith("+") and under.startswith("-"), (over, under)

    page.get_by_text("Day by hour (carpet plot)").first.click()
    page.wait_for_function(
        """() => [...document.querySelectorAll('.js-plotly-plot')].some(
              (el) => (el._fullData || []).some((t) => t.type === 'heatmap'))""",
        timeout=STEP_MS,
    )
    outlined = page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')]
              .flatMap((el) => el._fullData || [])
              .filter((t) => t.type === 'scatter' && (t.marker || {}).symbol === 'square-open')
              .map((t) => [t._length || 0, (t.marker || {}).color])"""
    )
    assert outlined and outlined[0][0] > 0 and outlined[0][1] == "#d62728", outlined
    assert_no_exception(page)


def test_clicking_the_largest_event_zooms_the_chart_to_it(page, app_url):
    """A click on the events table's first row (the largest impact) narrows the chart's x-axis to
    a few days around that event, with the readings there drawn."""
    open_app(page, app_url, "anomaly_detection", "Anomaly detection", SLOW_MS)
    wait_for_trace(page, "Anomalies", timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)
    grid = page.locator('[data-testid="stDataFrame"]').filter(
        has=page.get_by_text(re.compile("Cause"))
    )
    expect(grid.first).to_be_visible(timeout=STEP_MS)
    grid.first.scroll_into_view_if_needed()
    box = grid.first.bounding_box()
    page.mouse.click(box["x"] + 27, box["y"] + 35 + 35)  # the first row's selection box
    wait_idle(page, STEP_MS)
    page.wait_for_function(
        """() => { const el = document.querySelector('.js-plotly-plot');
              const r = ((el && el._fullLayout) || {}).xaxis;
              return r && (new Date(r.range[1]) - new Date(r.range[0])) < 5 * 86400e3; }""",
        timeout=STEP_MS,
    )
    shown = page.evaluate(
        """() => { const el = document.querySelector('.js-plotly-plot');
              const [a, b] = el._fullLayout.xaxis.range.map((t) => new Date(t));
              const actual = el._fullData.find((t) => t.name === 'Actual');
              return actual.x.filter((t) => new Date(t) >= a && new Date(t) <= b).length; }"""
    )
    assert shown >= 24, f"only {shown} readings drawn in the zoomed window"
    assert_no_exception(page)
