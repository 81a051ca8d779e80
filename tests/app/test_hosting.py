"""The hosted demo's storage notice and configuration from ``st.secrets`` (``core.ui.hosting``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.store.db import HOME_VAR, URL_VAR
from core.ui.hosting import HOSTED_VAR, hosted

from .conftest import APP, TIMEOUT

NOTICE_WORDS = "may not persist"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty WATTSUP_HOME, no database URL, nothing cached from another test."""
    monkeypatch.setenv(HOME_VAR, str(tmp_path / "home"))
    monkeypatch.delenv(URL_VAR, raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield tmp_path / "home"
    os.environ.pop(URL_VAR, None)  # a secret copied into the environment by the app
    st.cache_data.clear()
    st.cache_resource.clear()


def sidebar_captions(secrets: dict[str, str] | None = None) -> str:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return " ".join(str(el.value) for el in at.sidebar if type(el).__name__ == "Caption")


def test_hosted_without_a_database_says_saved_data_may_not_persist(home, monkeypatch) -> None:
    """On a hosted server with no database URL the sidebar says the local file may not persist."""
    monkeypatch.setenv(HOSTED_VAR, "1")
    assert NOTICE_WORDS in sidebar_captions()


def test_no_notice_off_a_host_or_with_a_database(home, monkeypatch, tmp_path) -> None:
    """No notice where the disk is kept (not hosted), nor on a host with a database URL set in
    the environment."""
    monkeypatch.setenv(HOSTED_VAR, "0")
    assert NOTICE_WORDS not in sidebar_captions()
    monkeypatch.setenv(HOSTED_VAR, "1")
    monkeypatch.setenv(URL_VAR, f"sqlite:///{tmp_path / 'server.db'}")
    assert NOTICE_WORDS not in sidebar_captions()


def test_a_database_url_secret_reaches_the_store_and_ends_the_notice(home, monkeypatch, tmp_path):
    """``WATTSUP_DATABASE_URL`` given as a secret (how Community Cloud takes settings) is the
    database the app uses, and the hosted notice goes away."""
    monkeypatch.setenv(HOSTED_VAR, "1")
    url = f"sqlite:///{tmp_path / 'from-secrets.db'}"
    assert NOTICE_WORDS not in sidebar_captions({URL_VAR: url})
    assert os.environ.get(URL_VAR) == url
    from core.ui.database import store

    store()  # opened (and created) where the secret says
    assert (tmp_path / "from-secrets.db").is_file()


def test_hosted_follows_the_flag_then_community_clouds_checkout(monkeypatch) -> None:
    """``WATTSUP_HOSTED`` decides when set; unset, a checkout under /mount/src counts as hosted."""
    monkeypatch.delenv(HOSTED_VAR, raising=False)
    assert hosted(Path("/mount/src/wattsup"))
    assert not hosted(Path("/home/me/wattsup"))
    monkeypatch.setenv(HOSTED_VAR, "0")
    assert not hosted(Path("/mount/src/wattsup"))
    monkeypatch.setenv(HOSTED_VAR, "true")
    assert hosted(Path("/home/me/wattsup"))
