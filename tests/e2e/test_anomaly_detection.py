"""The anomaly detection page in a real browser: first visit, threshold slider, downloads."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from core.ui.shell import NAV

from .conftest import (
    NAV_LINKS,
    SLOW_MS,
    STEP_MS,
    assert_no_exception,
    open_app,
    page_not_found,
    plotly_charts,
    shot,
    traces_named,
    wait_for_trace,
    wait_for_trace_length,
    wait_idle,
)

pytestmark = pytest.mark.e2e

ANOMALY_RED = "#d62728"
NAV_TITLES = [n.title for n in NAV]


def open_detection(page, base_url: str) -> dict:
    """Open /anomaly_detection on the bundled sample and wait for its red anomaly markers."""
    open_app(page, base_url, "anomaly_detection", "Anomaly detection", SLOW_MS)
    anomalies = wait_for_trace(page, "Anomalies", timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)
    return anomalies


def flagged_metric(page):
    """The value of the "Flagged readings" metric. Found by its exact label: a looser match (any
    label with alerts, anomalies or flags) once took "Alerts per week" when the page's metrics
    were still being drawn, and compared the two numbers."""
    metric = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator(
            '[data-testid="stMetricLabel"]', has_text=re.compile(r"^\s*Flagged readings\s*$")
        )
    )
    expect(metric).to_have_count(1)
    return metric.locator('[data-testid="stMetricValue"]')


def test_first_visit_shows_app_navigation_and_red_anomalies(page, fresh_app_url):
    """A first visit straight to /anomaly_detection shows the app's page titles and a chart whose
    anomaly markers are red, on the bundled sample."""
    page.goto(f"{fresh_app_url}/anomaly_detection", wait_until="domcontentloaded")
    nav = page.locator(NAV_LINKS)
    for title in NAV_TITLES:
        expect(nav.filter(has_text=title).first).to_be_visible(timeout=SLOW_MS)
    # A link's text is "<icon name>\n\n<label>" when it has an icon: keep the label line.
    labels = [label.strip().splitlines()[-1] for label in nav.all_inner_texts()]
    assert labels == NAV_TITLES, f"navigation shows {labels}, not the app's page titles"

    anomalies = wait_for_trace(page, "Anomalies", timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)
    shot(page, "anomaly_detection")
    assert page_not_found(page) is None, page_not_found(page)
    expect(page.get_by_role("heading", name="Anomaly detection").first).to_be_visible()
    assert anomalies["n"] >= 1
    colours = (
        anomalies["colour"] if isinstance(anomalies["colour"], list) else [anomalies["colour"]]
    )
    assert [str(c).lower() for c in colours] == [ANOMALY_RED], anomalies
    charts = plotly_charts(page)
    assert any(t["n"] > 100 for c in charts for t in c["traces"] if t["name"] != "Anomalies"), (
        f"no series with readings drawn beside the anomalies: {charts}"
    )
    assert_no_exception(page)


def test_threshold_slider_moves_with_keyboard(page, app_url):
    """Moving a threshold slider with the arrow keys changes the flagged count and the red markers,
    and moving it back restores both (no refit, same scores)."""
    before_trace = open_detection(page, app_url)
    metric = flagged_metric(page)
    before_count = metric.inner_text()
    sliders = page.locator('[data-testid="stSlider"]')
    threshold = sliders.filter(
        has=page.locator(
            '[data-testid="stWidgetLabel"]',
            has_text=re.compile(r"threshold|sigma|k\b|sensitiv", re.I),
        )
    )
    slider = (threshold if threshold.count() else sliders).first
    # Streamlit 1.67 draws the thumb over a visually hidden <input type="range"> (role slider).
    thumb = slider.get_by_role("slider").first
    start_value = thumb.input_value()
    thumb.focus()

    for _ in range(4):  # a few steps may sit on a plateau where no point changes side
        for _ in range(3):
            step_slider(thumb, "ArrowRight")
        expect(thumb).not_to_have_value(start_value)
        try:
            expect(metric).not_to_have_text(before_count, timeout=10_000)
            break
        except AssertionError:
            continue
    expect(metric).not_to_have_text(before_count)
    wait_idle(page)
    after_trace = max(traces_named(page, "Anomalies"), key=lambda t: t["n"])
    shot(page, "threshold_moved")
    assert after_trace["n"] != before_trace["n"], (before_trace, after_trace)

    for _ in range(40):  # back step by step to where it started (a bounded walk)
        if float(thumb.input_value()) <= float(start_value):
            break
        step_slider(thumb, "ArrowLeft")
    expect(thumb).to_have_value(start_value)
    expect(metric).to_have_text(before_count)
    wait_idle(page)
    wait_for_trace_length(page, "Anomalies", before_trace["n"])
    restored = max(traces_named(page, "Anomalies"), key=lambda t: t["n"])
    assert restored["n"] == before_trace["n"]
    assert_no_exception(page)


def step_slider(thumb, key: str) -> None:
    """Press ``key`` on the slider and wait until its value moved: a press that lands while the
    fragment re-renders the slider can be lost, so it is pressed again (at most three times)."""
    before = thumb.input_value()
    for _ in range(3):
        thumb.focus()
        thumb.press(key)
        try:
            expect(thumb).not_to_have_value(before, timeout=5_000)
            return
        except AssertionError:
            continue
    raise AssertionError(f"{key} did not move the slider from {before}")


def download(page, name: re.Pattern) -> bytes:
    """Click the download button labelled ``name`` (preparing it first if the page asks) and
    return the downloaded bytes."""
    button = page.locator('[data-testid="stDownloadButton"]').get_by_role("button", name=name)
    prepare = page.locator('[data-testid="stButton"]').get_by_role("button", name=name)
    # the downloads render after the chart: wait until one of the two is on the page
    expect(button.or_(prepare).first).to_be_visible(timeout=STEP_MS * 2)
    if not button.count():  # a report built on demand: press "Build/Prepare ... report" first
        prepare.first.click()
        expect(button.first).to_be_visible(timeout=STEP_MS * 2)
    with page.expect_download(timeout=STEP_MS * 2) as info:
        button.first.click()
    path = info.value.path()
    return path.read_bytes()


def test_events_csv_and_pdf_report_download(page, app_url):
    """The events CSV and the PDF report download from the browser and parse."""
    open_detection(page, app_url)
    data = download(page, re.compile(r"events csv", re.I))  # not the per-point flags CSV
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows, "events CSV has no rows although the chart shows anomalies"
    assert {"start", "end"} <= {h.strip().lower() for h in rows[0]}, list(rows[0])

    pdf = download(page, re.compile(r"pdf|report", re.I))
    assert pdf.startswith(b"%PDF"), pdf[:20]
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 1
    text = " ".join(p.extract_text() or "" for p in reader.pages)
    assert re.search(r"anomal|event", text, re.I), text[:500]
    shot(page, "downloads")
    assert_no_exception(page)
