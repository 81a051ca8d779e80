"""Saved meters in a real browser: upload a file, save it as a meter, reload (F5), stop the server and
start another on the same WATTSUP_HOME: the meter is in the sidebar and its Anomaly detection page
shows the same events."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import (
    REPO,
    SLOW_MS,
    STEP_MS,
    VIEWPORT,
    AppServer,
    assert_no_exception,
    go_to,
    open_app,
    shot,
    wait_for_trace,
    wait_idle,
)

pytestmark = pytest.mark.e2e

REAL_FILE = REPO.parent / "shared" / "data" / "lead_dev" / "building_118.csv"
METER = "building_118"
PARSE_MS = 90_000  # parsing + the quality report of a year of hourly readings on a busy CI box


def sidebar(page):
    return page.locator('[data-testid="stSidebar"]')


def events_count(page) -> str:
    """The Anomaly detection page's "Events" metric, once its chart is drawn."""
    wait_for_trace(page, "Anomalies", timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)
    metric = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(r"^Events$"))
    )
    value = metric.first.locator('[data-testid="stMetricValue"]')
    expect(value).to_be_visible(timeout=STEP_MS)
    return value.inner_text().strip()


def new_page(context):
    """A page that collects uncaught JavaScript errors, as the ``page`` fixture's does."""
    pg = context.new_page()
    pg.page_errors = []
    pg.on("pageerror", lambda exc: pg.page_errors.append(str(exc)))
    return pg


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The servers of this test keep their database in tmp_path (AppServer passes os.environ on)."""
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    return tmp_path / "home"


def test_saved_meter_survives_reload_and_restart(browser, home: Path) -> None:
    """Save an upload as a meter: F5 keeps it as the current dataset; after the server is stopped
    and started again it is listed in the sidebar and shows the same number of events."""
    if not REAL_FILE.is_file():
        pytest.fail(f"real data missing: {REAL_FILE}")
    first = AppServer().start()
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(STEP_MS)
    try:
        page = new_page(context)
        open_app(page, first.url, "upload", "Upload")
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
            str(REAL_FILE)
        )
        # the upload makes itself the current dataset with one more rerun: wait for that state, not
        # for a pause between the two runs, or the click can land in the rerun and be lost
        expect(sidebar(page)).to_contain_text(REAL_FILE.name, timeout=PARSE_MS)
        expect(page.get_by_text(re.compile(r"is the current dataset"))).to_be_visible()
        save = page.get_by_role("button", name=re.compile(r"save as meter", re.I))
        expect(save).to_be_enabled()
        wait_idle(page, PARSE_MS)
        save.click()
        expect(page.get_by_text(re.compile(r"readings added"))).to_be_visible(timeout=PARSE_MS)
        wait_idle(page)
        expect(page).to_have_url(re.compile(rf"[?&]meter={METER}\b"))
        expect(sidebar(page)).to_contain_text(METER)
        shot(page, "meters_saved")
        assert_no_exception(page)

        page.reload(wait_until="domcontentloaded")  # F5: a new session on the same URL
        wait_idle(page, SLOW_MS)
        expect(page).to_have_url(re.compile(rf"[?&]meter={METER}\b"))
        expect(sidebar(page)).to_contain_text(f"Name: {METER}")

        go_to(page, "Anomaly detection", SLOW_MS)
        before = events_count(page)
        expect(page).to_have_url(re.compile(rf"anomaly_detection.*[?&]meter={METER}\b"))
        shot(page, "meters_detection_before_restart")
        assert_no_exception(page)
    finally:
        context.close()
        first.stop()

    second = AppServer().start()
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(STEP_MS)
    try:
        page = new_page(context)
        open_app(page, second.url, "upload", "Upload")
        sidebar(page).get_by_role("combobox").first.click()
        page.get_by_role("option", name=f"{METER} (saved meter)").click()
        wait_idle(page, SLOW_MS)
        expect(sidebar(page)).to_contain_text(f"Name: {METER}")
        go_to(page, "Anomaly detection", SLOW_MS)
        after = events_count(page)
        expect(
            page.get_by_text(re.compile(rf"Last recorded run: .*{before} events"))
        ).to_be_visible()
        shot(page, "meters_detection_after_restart")
        assert_no_exception(page)
        assert after == before
    finally:
        context.close()
        second.stop()
