"""Every page answers at its own URL, as a bookmark or a shared link opens it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import NAV_LINKS, SLOW_MS, assert_no_exception, page_not_found

pytestmark = pytest.mark.e2e

PAGES = {
    "upload": "Upload",
    "forecasting": "Forecasting",
    "anomaly_detection": "Anomaly detection",
    "explainability": "Explainability",
    "live_simulation": "Live simulation",
}


@pytest.mark.parametrize("url_path", list(PAGES))
def test_page_opens_at_its_url(page, app_url, url_path):
    """``/<url_path>`` opens that page in a new session: no "Page not found", the page's own
    title, and no traceback."""
    page.goto(f"{app_url}/{url_path}", wait_until="domcontentloaded")
    link = page.locator(NAV_LINKS).filter(has_text=PAGES[url_path]).first
    expect(link).to_be_visible(timeout=SLOW_MS)
    # Each page's own title, not the default page's (which Streamlit falls back to). Routing is
    # settled once the title is drawn: a "Page not found" answer comes before any element.
    expect(page.get_by_role("heading", level=1).first).to_contain_text(
        PAGES[url_path].split()[0], timeout=SLOW_MS
    )
    assert page_not_found(page) is None, f"/{url_path}: {page_not_found(page)!r}"
    expect(page).to_have_url(f"{app_url}/{url_path}")
    assert_no_exception(page)
