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

# Largest point count of any non-anomaly trace: how many readings the live chart holds.
_POINTS_JS = """() => Math.max(0, ...[...document.querySelectorAll('.js-plotly-plot')].flatMap(
    (el) => (el._fullData || []).filter((t) => t.name !== 'Anomalies').map((t) => t._length || 0)))"""
_RED_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(
    (el) => (el._fullData || []).filter((t) => t.name === 'Anomalies').map((t) => t._length || 0))
    .reduce((a, b) => a + b, 0)"""


def points(page) -> int:
    return page.evaluate(_POINTS_JS)


def red_points(page) -> int:
    return page.evaluate(_RED_JS)


def wait_points_above(page, n: int, timeout: float = STEP_MS) -> int:
    page.wait_for_function(f"() => ({_POINTS_JS})() > {n}", timeout=timeout)
    return points(page)


def button(page, pattern: str):
    return page.get_by_role("button", name=re.compile(pattern, re.I)).first


def test_live_updates_spike_and_pause(page, app_url):
    """Started, the live chart grows by itself; an injected spike is flagged red; pause stops it."""
    open_app(page, app_url, "live_simulation", "Live simulation", SLOW_MS)
    wait_idle(page, SLOW_MS)
    start = button(page, r"^\W*(start|play|resume)")
    expect(start).to_be_visible(timeout=SLOW_MS)
    start.click()

    first = wait_points_above(page, 0, SLOW_MS)
    seen = [first]
    for _ in range(3):  # three separate updates, each one adding readings
        seen.append(wait_points_above(page, seen[-1]))
    assert seen == sorted(seen) and len(set(seen)) == 4, seen
    shot(page, "live_running")

    red_before = red_points(page)
    button(page, r"inject.*spike").click()
    page.wait_for_function(f"() => ({_RED_JS})() > {red_before}", timeout=STEP_MS)
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
    shot(page, "live_simulation")

    button(page, r"^\W*(pause|stop)").click()
    wait_idle(page)
    paused_at = points(page)
    with pytest.raises(PlaywrightTimeout):  # no reading may arrive for several tick intervals
        wait_points_above(page, paused_at, timeout=6_000)
    assert points(page) == paused_at
    assert_no_exception(page)
