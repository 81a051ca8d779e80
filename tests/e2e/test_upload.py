"""Uploading through the browser's file chooser: a real meter file, and files the app must refuse."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import REPO, assert_no_exception, go_to, open_app, shot, wait_idle

pytestmark = pytest.mark.e2e

SHARED_DATA = REPO.parent / "shared" / "data"
REAL_FILE = SHARED_DATA / "lead_dev" / "building_118.csv"
PARSE_MS = 90_000  # parsing + the quality report of a year of hourly readings on a busy CI box


def upload(page, path: Path) -> None:
    """Hand ``path`` to the uploader's hidden <input type=file>, as the OS file chooser would."""
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    expect(page.locator('[data-testid="stFileChipName"]', has_text=path.name)).to_be_visible()


def test_real_csv_becomes_the_current_dataset(page, app_url):
    """A real meter CSV uploaded through the file chooser gets a data-quality report and is at
    once the current dataset on the other pages (no "Use this dataset" click needed)."""
    if not REAL_FILE.is_file():
        pytest.fail(f"real data missing: {REAL_FILE}")
    open_app(page, app_url, "upload", "Upload")
    wait_idle(page)
    upload(page, REAL_FILE)
    expect(page.get_by_text(re.compile(r"data[- ]quality", re.I)).first).to_be_visible(
        timeout=PARSE_MS
    )
    use = page.get_by_role("button", name=re.compile(r"use this dataset", re.I))
    expect(use).to_be_visible(timeout=PARSE_MS)
    current = page.get_by_text(re.compile(r"building_118\.csv.* is the current dataset"))
    expect(current).to_be_visible(timeout=PARSE_MS)  # the upload's own report, not the sample's
    expect(use).to_be_disabled(timeout=PARSE_MS)
    wait_idle(page, PARSE_MS)
    shot(page, "upload")
    assert_no_exception(page)

    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar).to_contain_text("building_118", timeout=PARSE_MS)
    for title in ("Anomaly detection", "Forecasting"):
        go_to(page, title, PARSE_MS)
        expect(page).to_have_url(re.compile(title.lower().replace(" ", "_")))
        expect(sidebar).to_contain_text("building_118")
        assert_no_exception(page)
    shot(page, "upload_then_detection")


def test_broken_files_give_readable_errors(page, app_url, tmp_path):
    """Files that are not meter data (binary noise under a .csv name, a header with no rows) give a
    readable error message, never a traceback, and cannot become the dataset."""
    broken = {
        "garbage.csv": os.urandom(4096),
        "header_only.csv": b"timestamp,value\n",
    }
    open_app(page, app_url, "upload", "Upload")
    for name, content in broken.items():
        path = tmp_path / name
        path.write_bytes(content)
        error = page.locator('[data-testid="stAlertContentError"]')
        remove = page.locator('[data-testid="stFileChipDeleteBtn"]')
        if remove.count():  # clear the previous file, so its error cannot be read as this one's
            remove.first.click()
            expect(error).to_have_count(0, timeout=PARSE_MS)
        upload(page, path)
        expect(error.first).to_be_visible(timeout=PARSE_MS)
        wait_idle(page)
        message = error.first.inner_text().strip()
        shot(page, f"upload_error_{path.stem}")
        assert len(message) >= 15, message
        assert "Traceback" not in message and "Error(" not in message, message
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        expect(
            page.get_by_role("button", name=re.compile(r"use this dataset", re.I))
        ).to_have_count(0)
        assert_no_exception(page)
