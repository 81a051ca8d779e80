"""The labelling section (AppTest): on the Anomaly detection page for a saved meter, and its
controls in a small script: mark an event, mark a missed span, metrics, suggestion, retrain."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.store.db import open_store
from core.store.labels import SqlLabelRepository
from core.store.meters import SqlMeterRepository
from tests.app.conftest import APP, TIMEOUT, detection
from tests.labels.conftest import METER, spans

PAGE = "pages/3_anomaly_detection.py"


@pytest.fixture
def home(tmp_path: Path, monkeypatch, series) -> Path:
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WATTSUP_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    store = open_store(home=tmp_path / "home")
    SqlMeterRepository(store).import_frame(METER, series[0], unit="kWh")
    store.close()
    yield tmp_path / "home"
    st.cache_data.clear()
    st.cache_resource.clear()


def _section() -> None:
    """The section over the stored meter, scored by the fast rolling z-score."""
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
    th = ThresholdSettings()
    found = detect_events(scored, th, freq=frame.index.freq, unit="kWh")
    labels_section(DatasetRef("meter", "boiler"), scored, found.flags, found.events, th)


def _labels(home: Path):
    store = open_store(home=home)
    try:
        return SqlLabelRepository(store).list(METER)
    finally:
        store.close()


def test_the_page_shows_the_section_for_a_saved_meter(home: Path) -> None:
    """The Anomaly detection page of a saved meter has the Labels section with its controls."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["detection_choice"] = detection()
    at.query_params["meter"] = METER
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value == "Labels" for s in at.subheader)
    assert at.button(key="labels_save") and at.radio(key="labels_verdict")


def test_mark_an_event_and_a_missed_span_then_see_metrics(home: Path, series) -> None:
    """Save a verdict with a note and a missed span; the labels, metrics and a suggestion show."""
    at = AppTest.from_function(_section, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.radio(key="labels_verdict").set_value("not_anomaly")
    at.text_input(key="labels_note").set_value("boiler test")
    at.button(key="labels_save").click().run()
    assert [s.value for s in at.success] == ["Label saved."]
    at.run()  # the event just dismissed is now "like one you dismissed"
    assert any("like one you dismissed" in c.value for c in at.caption)
    idx = series[0].index
    at.text_input(key="labels_missed_start").set_value(f"{idx[872]:%Y-%m-%d %H:%M}")
    at.text_input(key="labels_missed_end").set_value(f"{idx[895]:%Y-%m-%d %H:%M}")
    at.button(key="labels_save_missed").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    labels = _labels(home)
    assert labels["verdict"].tolist()[-1] == "real" and "boiler test" in labels["note"].tolist()
    shown = [set(d.value.columns) for d in at.dataframe]
    assert {"verdict", "note"} <= set().union(*shown) and {
        "on your labels",
        "random",
    } <= set().union(*shown)


def test_retrain_then_compare_and_roll_back(home: Path, series) -> None:
    """With enough labels Retrain makes version 1, again version 2; both compared; roll back."""
    store = open_store(home=home)
    SqlLabelRepository(store).add_many(METER, spans(series[0].index))
    store.close()
    at = AppTest.from_function(_section, default_timeout=TIMEOUT)
    at.run()
    at.button(key="labels_retrain").click().run()
    at.button(key="labels_retrain").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    versions = next(d.value for d in at.dataframe if "version" in d.value.columns)
    assert versions["version"].tolist() == [2, 1]
    at.button(key="labels_rollback").click().run()
    assert "Version 1 is current again." in [s.value for s in at.success]


def test_label_shapes_are_added_to_a_copy_of_the_chart(home: Path, series) -> None:
    """Each label becomes one shaded span named by its kind; the shared figure is left alone."""
    import plotly.graph_objects as go

    from core.ingest.refs import DatasetRef
    from core.ui.labels import with_label_shapes

    store = open_store(home=home)
    SqlLabelRepository(store).add_many(METER, spans(series[0].index))
    store.close()
    fig = go.Figure(go.Scatter(x=series[0].index, y=series[0]["value"]))
    out = with_label_shapes(fig, DatasetRef("meter", METER))
    kinds = [s["name"] for s in out.to_dict()["layout"]["shapes"]]
    assert sorted(kinds) == ["label: dismissed"] * 3 + ["label: missed"] * 3
    assert not fig.layout.shapes
    assert with_label_shapes(fig, DatasetRef.sample("uk_demand")) is fig
