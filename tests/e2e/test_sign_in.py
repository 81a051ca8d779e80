"""Signing in with a local account in a real browser: signed out, the sidebar offers a form and no
saved meter; alice signs in and sees her organisation's meter only; a wrong password is refused in
one line; sign-out returns to the public demo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.auth import accounts
from core.store.db import open_store
from core.store.meters import SqlMeterRepository
from core.store.users import SqlUserRepository
from tests.auth.helpers import PASSWORDS, cheap_hashing
from tests.conftest import synthetic_frame

from .conftest import (
    SLOW_MS,
    STEP_MS,
    VIEWPORT,
    AppServer,
    assert_no_exception,
    open_app,
    shot,
    wait_idle,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database with acme's meter, the workspace's meter, and alice (analyst of acme)."""
    home = tmp_path / "home"
    monkeypatch.setenv("WATTSUP_HOME", str(home))
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    store = open_store(home=home)
    meters = SqlMeterRepository(store)
    meters.import_frame("acme-hall", synthetic_frame(3), unit="kWh", owner="acme")
    meters.import_frame("workspace-hall", synthetic_frame(3), unit="kWh")
    with cheap_hashing():
        accounts.create_user(
            SqlUserRepository(store), "alice", PASSWORDS["alice"], role="analyst", org="acme"
        )
    store.close()
    return home


def sidebar(page):
    return page.locator('[data-testid="stSidebar"]')


def sign_in(page, name: str, password: str) -> None:
    side = sidebar(page)
    side.get_by_label("User name").fill(name)
    side.get_by_label("Password", exact=True).fill(password)
    side.get_by_role("button", name=re.compile("sign in", re.I)).click()
    wait_idle(page, SLOW_MS)


def dataset_options(page) -> list[str]:
    sidebar(page).get_by_role("combobox").first.click()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


def test_local_account_sign_in_and_out(browser, home: Path) -> None:
    server = AppServer().start()
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(STEP_MS)
    page = context.new_page()
    page.page_errors = []
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))
    try:
        open_app(page, server.url, "upload", "Upload", timeout=SLOW_MS)
        expect(sidebar(page).get_by_label("User name")).to_be_visible()
        assert not [o for o in dataset_options(page) if "saved meter" in o]

        sign_in(page, "alice", "not-her-password")
        expect(sidebar(page)).to_contain_text("wrong user name or password")
        expect(sidebar(page).get_by_label("Password", exact=True)).to_have_value("")

        sign_in(page, "alice", PASSWORDS["alice"])
        expect(sidebar(page)).to_contain_text("Signed in as alice (analyst, acme)")
        saved = [o for o in dataset_options(page) if "saved meter" in o]
        assert saved == ["acme-hall (saved meter)"]
        shot(page, "signed_in")
        assert_no_exception(page)
        assert PASSWORDS["alice"] not in page.content()

        sidebar(page).get_by_role("button", name=re.compile("sign out", re.I)).click()
        wait_idle(page, SLOW_MS)
        expect(sidebar(page).get_by_label("User name")).to_be_visible()
        assert not [o for o in dataset_options(page) if "saved meter" in o]
        assert_no_exception(page)
    finally:
        context.close()
        server.stop()
    log = server.logs(tail=200_000)
    assert PASSWORDS["alice"] not in log and "not-her-password" not in log
