"""Explainability and Live simulation pages run through the real router with a fast detector."""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import pytest

from core.charts.style import ANOMALY_RED
from core.ui.cache import DatasetRef
from tests.app.conftest import FAST_DETECTORS, app, chart_spec, detection, open_page

EXPLAIN = "pages/4_explainability.py"
LIVE = "pages/5_live_simulation.py"
SAMPLE = DatasetRef.sample("uk_demand")  # 4,032 half-hourly readings: quick to fit and explain
FAST = {"dataset_key": SAMPLE, "detection_choice": detection()}
# events independent of a detector's calibration: flag the top 1 % (as the detection page's tests do)
TOP = {**FAST, "detection_choice": detection(mode="percentile", percentile=99.0)}


@pytest.fixture(scope="module")
def event_starts() -> list[str]:
    """Event starts under the fast detector and the default threshold, computed without the app."""
    from core.charts.tables import detector_settings
    from core.detect.events import find_events
    from core.detect.pipeline import make_detector
    from core.detect.scoring import score_frame
    from core.detect.thresholds import ThresholdSettings, flag_points
    from core.ingest.samples import load_sample

    ds = load_sample("uk_demand")
    det = make_detector(detector_settings(FAST_DETECTORS)).fit(ds.frame)
    scored = score_frame(det, ds.frame)
    events = find_events(
        scored,
        flag_points(scored, ThresholdSettings(mode="percentile", percentile=99.0)),
        freq=ds.freq,
        unit=ds.unit,
    )
    return [pd.Timestamp(s).isoformat() for s in events["start"]]


def _length(arr) -> int:
    """Points in a plotly array, plain list or binary-encoded (``{"bdata", "dtype"}``)."""
    if isinstance(arr, dict):
        return len(base64.b64decode(arr["bdata"])) // np.dtype(arr["dtype"]).itemsize
    return len(arr)


def _trace_names(spec: dict) -> list[str]:
    return [t.get("name") for t in spec["data"]]


def test_explainability_global_view_shows_bar_and_beeswarm():
    """The global view draws mean |SHAP| bars and one beeswarm dot per sampled reading."""
    at = open_page(app(**FAST, explain_view="Global"), EXPLAIN)
    assert at.title[0].value == "Explainability"
    bars = chart_spec(at, "explain_importance")
    assert bars["data"][0]["type"] == "bar" and len(bars["data"][0]["y"]) >= 5
    swarm = chart_spec(at, "explain_beeswarm")
    n_features = len(bars["data"][0]["y"])
    assert _length(swarm["data"][0]["x"]) == 1000 * min(n_features, 12)


def test_explainability_opens_the_event_sent_by_the_detection_page(event_starts):
    """Arriving with ``explain_event`` selects that event and explains it: waterfall and sentence."""
    assert len(event_starts) >= 2
    wanted = event_starts[1]
    at = open_page(app(**TOP, explain_event=wanted), EXPLAIN)
    pick = at.selectbox(key="explain_pick")  # events by impact: find it by its start
    assert pick.options[pick.index].startswith(f"{pd.Timestamp(wanted):%Y-%m-%d %H:%M} · ")
    assert "explain_event" not in at.session_state  # taken once, so the user can pick another
    waterfall = chart_spec(at, "explain_waterfall")
    assert waterfall["data"][0]["type"] == "waterfall"
    sentence = at.info[0].value
    assert sentence.startswith(("Consumption at", "The meter at", "The reading at"))
    assert "it stood out mostly because of the " in sentence
    context = chart_spec(at, "explain_context")
    assert "Anomalies" in _trace_names(context)


def test_explainability_opens_on_the_largest_anomaly_with_a_whole_waterfall():
    """With no view chosen, the page opens on the anomaly with the largest energy impact (not the
    global view); the waterfall ends on a drawn total bar, its base on top."""
    at = open_page(app(**TOP), EXPLAIN)
    assert at.session_state["explain_view"] == "Per anomaly"
    assert at.selectbox(key="explain_pick").value == 0
    waterfall = chart_spec(at, "explain_waterfall")
    bars = waterfall["data"][0]
    assert bars["measure"][0] == "absolute" and bars["measure"][-1] == "total"
    assert waterfall["layout"]["yaxis"]["autorange"] == "reversed"
    reading = at.metric[3]  # the date in the label, the time as the value: nothing cut off
    assert reading.label.startswith("Reading on ") and len(reading.value) == 5


def test_explainability_switches_event_without_error(event_starts):
    """Picking another event in the select box explains that one instead."""
    at = open_page(app(**TOP, explain_view="Per anomaly"), EXPLAIN)
    first = at.info[0].value
    at.selectbox(key="explain_pick").set_value(len(event_starts) - 1).run()
    assert not at.exception
    assert at.info[0].value != first


def test_explainability_explains_a_meters_learned_model(meter_home, tmp_path):
    """A saved meter whose learned model was trained on its labels: with the learned detector the
    page opens on its own explainer (SHAP of the model, in log-odds) and says so in the sentence;
    with another detector the learned explainer is not offered."""
    from streamlit.testing.v1 import AppTest

    from core.detect.pipeline import DetectorSettings
    from core.labels.retrain import retrain_meter
    from core.store.labels import SqlLabelRepository
    from tests.app.conftest import APP, METER, TIMEOUT
    from tests.labels.conftest import spans

    store, index = meter_home
    SqlLabelRepository(store).add_many(METER, spans(index))
    fast = DetectorSettings.of("learned", max_iter=20)
    retrain_meter(store, METER, settings=fast, root=tmp_path / "models")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["detection_choice"] = detection(
        ["learned"], mode="percentile", percentile=99.0
    )
    at.query_params["meter"] = METER
    at.run()
    open_page(at, EXPLAIN)
    radio = at.radio(key="explain_method")
    assert radio.value == "learned" and radio.options[0] == "Learned from labels (SHAP)"
    waterfall = chart_spec(at, "explain_waterfall")
    assert (
        waterfall["layout"]["title"]["text"] == "How each input moved the learned model's log-odds"
    )
    assert "the model learned from your labels flagged it" in at.info[0].value
    assert not at.warning, [w.value for w in at.warning]
    other = open_page(app(**FAST), EXPLAIN)
    assert "Learned from labels (SHAP)" not in other.radio(key="explain_method").options


def test_live_page_start_inject_pause_reset():
    """Start replays, an injected spike is recorded and drawn, pause holds, reset clears."""
    at = open_page(app(**FAST), LIVE)
    assert at.title[0].value == "Live simulation"
    assert at.session_state["live_state"].position == 0
    at.button(key="live_start").click().run()
    assert not at.exception
    assert at.session_state["live_state"].position == 1  # 2 readings/s, one per half-second tick
    at.button(key="live_inject_spike").click().run()
    for _ in range(3):
        at.run()
    state = at.session_state["live_state"]
    assert state.position == 5 and len(state.injections) == 1
    assert state.injections[0].delay == 0  # a spike of 8 robust sigmas is caught at once
    spec = chart_spec(at, "live_chart")
    anomalies = [t for t in spec["data"] if t.get("name") == "Anomalies"]
    assert anomalies and anomalies[0]["marker"]["color"] == ANOMALY_RED
    assert _length(anomalies[0]["x"]) >= 1
    assert "Injected" in _trace_names(spec)
    tables = [d.value for d in at.dataframe]
    events = next(t for t in tables if "cause" in t.columns)
    injected = next(t for t in tables if "delay" in t.columns)
    assert list(injected["kind"]) == ["Spike"] and injected["delay"].iloc[0] == 0
    assert len(events) >= 1 and {"start", "end", "peak_score", "excess", "type", "cause"} <= set(
        events.columns
    )

    at.button(key="live_pause").click().run()
    held = at.session_state["live_state"].position
    at.run()
    assert at.session_state["live_state"].position == held
    at.button(key="live_reset").click().run()
    state = at.session_state["live_state"]
    assert state.position == 0 and state.events == () and state.injections == ()
