"""Roles in the labelling section (AppTest): an analyst gets the label forms, Apply, Retrain and
Roll back; a viewer of the same meter sees the labels, metrics and versions, none of those
controls, and one line saying why."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.auth import accounts, signin
from core.store.users import SqlUserRepository
from core.ui import auth
from tests.app.conftest import TIMEOUT
from tests.auth.helpers import PASSWORDS, cheap_hashing

WRITES = (
    "labels_save",
    "labels_save_missed",
    "labels_apply_k",
    "labels_retrain",
    "labels_rollback",
)


def _section() -> None:
    """The section over the stored meter scored by the rolling z-score, its events at the default
    threshold, judged at k = 5 (which misses the confirmed ones: so a better one is suggested)."""
    from core.detect.detectors import REGISTRY
    from core.detect.run import detect_events
    from core.detect.scoring import score_frame
    from core.detect.thresholds import ThresholdSettings
    from core.ingest.refs import DatasetRef
    from core.store.meters import SqlMeterRepository
    from core.ui.database import store
    from core.ui.labels import labels_section

    frame = SqlMeterRepository(store()).load("boiler").asfreq("h")
    scored = score_frame(REGISTRY["rolling_z"]().fit(frame), frame)
    found = detect_events(scored, ThresholdSettings(), freq=frame.index.freq, unit="kWh")
    high = ThresholdSettings(k=5.0)
    labels_section(DatasetRef("meter", "boiler"), scored, found.flags, found.events, high)


@pytest.fixture
def tokens(versioned, monkeypatch) -> dict[str, str]:
    """alice (analyst) and vic (viewer) of the workspace's organisation, signed in; the app on
    this test's copy of the meter with two model versions."""
    store, v = versioned
    monkeypatch.setenv("WATTSUP_HOME", str(v.home))
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    repo = SqlUserRepository(store)
    with cheap_hashing():
        for name, role in (("alice", "analyst"), ("vic", "viewer")):
            accounts.create_user(repo, name, PASSWORDS[name], role=role)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield {name: signin.start_session(repo, repo.get(name)) for name in ("alice", "vic")}
    st.cache_data.clear()
    st.cache_resource.clear()


def _run(token: str) -> AppTest:
    at = AppTest.from_function(_section, default_timeout=TIMEOUT)
    at.session_state[auth.TOKEN] = token
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button}


def test_a_viewer_sees_labels_but_no_label_controls(tokens: dict[str, str]) -> None:
    analyst, viewer = _run(tokens["alice"]), _run(tokens["vic"])
    assert set(WRITES) <= _keys(analyst) and analyst.radio(key="labels_verdict")
    assert not _keys(viewer) & set(WRITES)
    assert not [r for r in viewer.radio if r.key == "labels_verdict"]
    assert not [t for t in viewer.text_input if (t.key or "").startswith("labels_")]
    blocked = "ask an admin for the analyst role to label events"
    assert any(blocked in c.value for c in viewer.caption)
    assert not any(blocked in c.value for c in analyst.caption)
    tables = {k for d in viewer.dataframe for k in d.value.columns}
    assert {"verdict", "on your labels", "version"} <= tables  # reading stays
    assert any("Suggested threshold" in m.value for m in viewer.markdown)
