"""AppTest helpers: the real router, fast detector settings, readers for chart specs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.charts.tables import detector_settings
from core.detect.thresholds import ThresholdSettings
from core.ui.settings import DetectionChoice

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "streamlit_app.py")
TIMEOUT = 240  # first runs fit real models (memory cache, then models/ on disk)
FAST_DETECTORS = ["rolling_z"]  # fits in well under a second; the default ensemble is tested too


def detection(detectors: list[str] = FAST_DETECTORS, **threshold) -> DetectionChoice:
    """Shared detection settings to start a session from (``detection_choice=detection()``)."""
    return DetectionChoice(detector_settings(detectors), ThresholdSettings(**threshold))


def app(**session) -> AppTest:
    """A fresh AppTest over the real router, run once (Upload, the default page)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in session.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(at: AppTest, path: str) -> AppTest:
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart_spec(at: AppTest, key: str) -> dict:
    """The plotly figure (as a dict) that the page sent for the chart with ``key``."""
    for el in at.get("plotly_chart"):
        if key in el.proto.id:
            return json.loads(el.proto.spec)
    raise AssertionError(f"no plotly chart with key {key!r}")


def metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}: {[m.label for m in at.metric]}"
    return found[0]


def plain(markdown: str) -> str:
    """What a reader sees of escaped markdown (``core.ui.text.md_escape``): no backslashes, no joiners."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", str(markdown)).replace("\u2060", "")


def sidebar_markdown(at: AppTest) -> str:
    """All markdown source in the sidebar (iterating the block; ``at.sidebar.markdown`` misses it)."""
    return " ".join(str(el.value) for el in at.sidebar if type(el).__name__ == "Markdown")


def sidebar_text(at: AppTest) -> str:
    """The sidebar's markdown as a reader sees it (escapes removed)."""
    return plain(sidebar_markdown(at))


def sidebar_links(at: AppTest) -> list[str]:
    return [el.proto.label for el in at.sidebar if type(el).__name__ == "PageLink"]


def events_table(at: AppTest):
    found = [d for d in at.dataframe if d.key and d.key.startswith("detect_events_")]
    return found[0] if found else None


@pytest.fixture
def lead_bytes(shared_data: Path) -> tuple[str, bytes]:
    path = shared_data / "lead_dev" / "building_1074.csv"
    return path.name, path.read_bytes()


@pytest.fixture(autouse=True)
def _no_legacy_pages_mode(request, monkeypatch):
    """Behave like a server after its first run: no legacy ``pages/`` mode.

    AppTest resets Streamlit's "this app has a pages/ folder" switch before *every* run, so each run
    would start the way only the very first run after a server start does (the page file run
    directly; ``core.ui.shell.require_router`` then reruns through the router, which drops a button
    press). Tests that use the ``legacy_pages`` fixture keep the real behaviour to test that path.
    """
    if "legacy_pages" in request.fixturenames:
        return
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture
def legacy_pages() -> None:
    """Keep AppTest's legacy ``pages/`` mode: every run starts like a fresh server's first run."""


METER = "boiler"


@pytest.fixture
def meter_home(tmp_path, monkeypatch):
    """A home whose database holds one saved meter (six weeks of hourly kWh), caches emptied."""
    import streamlit as st
    from cryptography.fernet import Fernet

    from core.store.db import open_store
    from core.store.meters import SqlMeterRepository
    from tests.conftest import inject_anomalies, synthetic_frame

    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WATTSUP_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("WATTSUP_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    frame, _ = inject_anomalies(synthetic_frame())
    store = open_store(home=tmp_path / "home")
    try:
        SqlMeterRepository(store).import_frame(METER, frame, unit="kWh")
        yield store, frame.index
    finally:
        store.close()
        st.cache_data.clear()
        st.cache_resource.clear()
