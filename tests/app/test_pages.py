"""Every page of the real navigation list runs on the default sample, through the router."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.ui.shell import NAV
from tests.app.conftest import (
    APP,
    TIMEOUT,
    app,
    detection,
    open_page,
    sidebar_links,
    sidebar_text,
)

FAST_SESSION = {
    "detection_choice": detection(),
    "forecast_lstm": False,  # the LSTM overlay trains for a while; tested in forecasting's own tests
}


@pytest.mark.parametrize("nav", NAV, ids=[n.url_path for n in NAV])
def test_page_runs_without_exception(nav):
    """Each page renders its title and the shared sidebar on the default bundled sample."""
    at = app(**FAST_SESSION)
    open_page(at, nav.path)
    assert at.title and at.title[0].value  # every page starts with its title
    text = sidebar_text(at)
    assert "Current dataset" in text and "Rows" in text
    assert sidebar_links(at) == [n.title for n in NAV]


def test_navigation_titles_and_paths():
    """The router's pages carry the app's labels and url paths; Upload is the default."""
    assert [n.title for n in NAV] == [
        "Upload",
        "Forecasting",
        "Anomaly detection",
        "Explainability",
        "Live simulation",
        "Portfolio",
        "Alerts",
    ]
    assert [n.url_path for n in NAV] == [
        "upload",
        "forecasting",
        "anomaly_detection",
        "explainability",
        "live_simulation",
        "portfolio",
        "alerts",
    ]
    assert [n.default for n in NAV] == [True, False, False, False, False, False, False]


def test_app_opens_on_default_sample():
    """No upload needed: the first run shows the default sample on the Upload page."""
    from core.ingest.samples import DEFAULT_SAMPLE, SAMPLES

    at = app()
    assert at.title[0].value == "Upload meter data"
    assert at.session_state["dataset_key"].name == DEFAULT_SAMPLE
    assert SAMPLES[DEFAULT_SAMPLE].title in sidebar_text(at)


def test_sidebar_switches_sample():
    """Picking another bundled sample in the sidebar makes it the current dataset."""
    at = app()
    at.sidebar.selectbox(key="sidebar_dataset").set_value("uk_demand").run()
    assert not at.exception
    assert at.session_state["dataset_key"].name == "uk_demand"
    assert "England" in sidebar_text(at)


@pytest.mark.parametrize("nav", NAV[1:], ids=[n.url_path for n in NAV[1:]])
def test_first_visit_in_legacy_mode_goes_through_router(nav, legacy_pages):
    """A fresh server runs a page file directly; the page reruns itself inside the router.

    Without that, the first visit to e.g. /forecasting has no sidebar and no app labels.
    """
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in FAST_SESSION.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(nav.path).run()
    assert not at.exception, [e.value for e in at.exception]
    assert sidebar_links(at) == [n.title for n in NAV]
    assert "Current dataset" in sidebar_text(at)
