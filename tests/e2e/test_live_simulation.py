"""The live simulation page: updates arrive on their own, an injected spike is flagged, pause stops."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from .conftest import (
    SLOW_MS,
    STEP_MS,
    assert_no_exception,
    open_app,
    plotly_charts,
    shot,
    wait_idle,
)

pytestmark = pytest.mark.e2e

ANOMALY_RED = "#d62728"

# The newest x of any trace: it moves on with every update, also once the shown window is full.
_LATEST_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(
    (el) => (el._fullData || []).map((t) => (t.x && t.x.length ? String(t.x[t.x.length - 1]) : '')))
    .reduce((a, b) => (b > a ? b : a), '')"""
_RED_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(
    (el) => (el._fullData || []).filter((t) => t.name === 'Anomalies').map((t) => t._length || 0))
    .reduce((a, b) => a + b, 0)"""


def latest(page) -> str:
    return page.evaluate(_LATEST_JS)


def red_points(page) -> int:
    return page.evaluate(_RED_JS)


def wait_update(page, after: str, timeout: float = STEP_MS) -> str:
    """Wait until the chart's newest reading is later than ``after``; return the new newest."""
    page.wait_for_function(f"([a]) => ({_LATEST_JS})() > a", arg=[after], timeout=timeout)
    return latest(page)


def button(page, pattern: str):
    return page.get_by_role("button", name=re.compile(pattern, re.I)).first


def test_live_updates_spike_and_pause(page, app_url):
    """Started, the live chart grows by itself; an injected spike is flagged red; pause stops it."""
    open_app(page, app_url, "live_simulation", "Live simulation", SLOW_MS)
    wait_idle(page, SLOW_MS)
    start = button(page, r"start$")
    expect(start).to_be_visible(timeout=SLOW_MS)
    start.click()

    page.wait_for_selector(".js-plotly-plot", timeout=SLOW_MS)
    seen = [latest(page)]
    for _ in range(3):  # three separate updates, each one adding newer readings
        seen.append(wait_update(page, seen[-1]))
    assert seen == sorted(seen) and len(set(seen)) == 4, seen
    shot(page, "live_running")

    red_before = red_points(page)
    button(page, r"inject spike$").click()
    # The spike is scored with the next tick; a loaded CI box may take a few ticks to get there.
    page.wait_for_function(f"() => ({_RED_JS})() > {red_before}", timeout=1.5 * STEP_MS)
    spike = [
        t
        for c in plotly_charts(page)
        for t in c["traces"]
        if t["name"] == "Anomalies" and t["n"] > 0
    ]
    assert spike, plotly_charts(page)
    colours = {
        str(c).lower()
        for t in spike
        for c in (t["colour"] if isinstance(t["colour"], list) else [t["colour"]])
    }
    assert colours == {ANOMALY_RED}, colours
    toast = page.locator('[data-testid="stToast"]').filter(
        has_text=re.compile(r"at \d{4}-\d\d-\d\d")
    )
    expect(toast.first).to_be_visible(timeout=STEP_MS)  # the alert says what and when, in words
    shot(page, "live_simulation")

    button(page, r"pause$").click()
    wait_idle(page)
    expect(page.locator('[data-testid="stMetricValue"]', has_text="paused")).to_be_visible()
    paused_at = latest(page)
    with pytest.raises(PlaywrightTimeout):  # no reading may arrive for several tick intervals
        wait_update(page, paused_at, timeout=5_000)
    assert latest(page) == paused_at
    assert_no_exception(page)


def test_phone_width_start_and_chart_come_first(page, app_url):
    """At 390 px the stream settings fold away: Start, the injection buttons and the live chart sit
    within the first screen or so, and nothing scrolls sideways."""
    page.set_viewport_size({"width": 390, "height": 844})
    open_app(page, app_url, "live_simulation", "Live simulation", SLOW_MS)
    wait_idle(page, SLOW_MS)
    start = button(page, r"start$")
    expect(start).to_be_visible(timeout=SLOW_MS)
    page.wait_for_selector(".js-plotly-plot", timeout=SLOW_MS)
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways at 390 px: {width}"
    tops = page.evaluate(
        """() => {
            const top = (el) => el.getBoundingClientRect().top + window.scrollY;
            const start = [...document.querySelectorAll('button')].find(
                (b) => /start$/i.test(b.innerText.trim()));
            const chart = document.querySelector('.js-plotly-plot');
            return [start ? top(start) : null, chart ? top(chart) : null];
        }"""
    )
    start_top, chart_top = tops
    assert start_top is not None and chart_top is not None, tops
    # before: three settings and six buttons stacked one a row, five counters, then the chart
    # (about 1,000 px below Start); now the buttons wrap in two or three rows above the chart
    assert chart_top - start_top < 300, ("the chart is far below Start", start_top, chart_top)
    shot(page, "live_phone")
    assert_no_exception(page)
