"""Settings survive navigation, and the pages after Anomaly detection follow its shared choice."""

from __future__ import annotations

from core.ui.cache import DatasetRef
from core.ui.settings import DetectionChoice
from tests.app.conftest import app, detection, metric, open_page

DETECT = "pages/3_anomaly_detection.py"
EXPLAIN = "pages/4_explainability.py"
SAMPLE = DatasetRef.sample("uk_demand")  # 4,032 half-hourly readings: quick to fit and explain
START = {"dataset_key": SAMPLE, "detection_choice": detection(), "explain_view": "Per anomaly"}


def test_detection_settings_survive_a_visit_to_explainability():
    """Threshold, direction and toggles set on Anomaly detection are still set after Explainability."""
    at = open_page(app(**START), DETECT)
    at.slider(key="detect_k").set_value(3.0).run()
    at.radio(key="detect_direction").set_value("over").run()
    at.toggle(key="detect_band").set_value(False).run()
    events = metric(at, "Events")
    open_page(at, EXPLAIN)
    open_page(at, DETECT)
    assert at.slider(key="detect_k").value == 3.0
    assert at.radio(key="detect_direction").value == "over"
    assert at.toggle(key="detect_band").value is False
    assert metric(at, "Events") == events


def test_threshold_hidden_by_another_mode_keeps_its_value():
    """A sigma threshold hidden while another mode is picked comes back with its value."""
    at = open_page(app(**START), DETECT)
    at.slider(key="detect_k").set_value(3.2).run()
    at.selectbox(key="detect_mode").set_value("percentile").run()
    at.selectbox(key="detect_mode").set_value("sigma").run()
    assert at.slider(key="detect_k").value == 3.2


def test_explainability_counts_the_events_of_the_current_threshold():
    """After k moves on Anomaly detection, Explainability lists as many events as that page shows."""
    at = open_page(app(**START), DETECT)
    default_count = metric(at, "Events")
    at.slider(key="detect_k").set_value(3.0).run()
    count = metric(at, "Events")
    assert count != default_count and int(count.replace(",", "")) > 0
    shared = at.session_state["detection_choice"]
    assert isinstance(shared, DetectionChoice) and shared.threshold.k == 3.0
    open_page(at, EXPLAIN)
    assert at.selectbox(key="explain_pick").label == f"Event ({count} under the current settings)"
