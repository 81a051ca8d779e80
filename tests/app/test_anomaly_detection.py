"""The threshold studio: sliders re-threshold without refitting, the chart and tables follow."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import core.charts.report
import core.detect.events
import core.detect.run
import core.ui.cache
from core.charts.style import ANOMALY_RED
from core.charts.tables import detector_settings
from tests.app.conftest import (
    APP,
    FAST_DETECTORS,
    METER,
    TIMEOUT,
    app,
    chart_spec,
    detection,
    events_table,
    metric,
    open_page,
)

PAGE = "pages/3_anomaly_detection.py"


def studio(**session):
    session.setdefault("detection_choice", detection())
    return open_page(app(**session), PAGE)


def flagged_studio(**session):
    """The studio in percentile mode (top 2 % of scores): some flags whatever the detector's scale."""
    at = studio(**session)
    at.selectbox(key="detect_mode").set_value("percentile").run()
    at.slider(key="detect_percentile").set_value(98.0).run()
    assert not at.exception
    return at


def _anomaly_trace(spec: dict) -> dict:
    found = [t for t in spec["data"] if t.get("name") == "Anomalies"]
    assert len(found) == 1
    return found[0]


def test_threshold_slider_changes_alerts_and_events_table():
    """Raising the sigma threshold lowers the flagged count and shortens the events table."""
    at = studio()
    at.slider(key="detect_k").set_value(1.5).run()
    low_flags, low_events = (
        int(metric(at, "Flagged readings").replace(",", "")),
        len(events_table(at).value),
    )
    at.slider(key="detect_k").set_value(3.2).run()
    assert not at.exception
    high_flags = int(metric(at, "Flagged readings").replace(",", ""))
    table = events_table(at)
    high_events = 0 if table is None else len(table.value)
    assert high_flags < low_flags and high_events < low_events
    assert metric(at, "Events") == f"{high_events:,}"


def test_anomaly_trace_is_red_and_counts_flagged_points():
    """The chart's "Anomalies" trace is red with one marker per flagged reading."""
    at = flagged_studio()
    trace = _anomaly_trace(chart_spec(at, "detect_chart"))
    assert trace["marker"]["color"] == ANOMALY_RED
    assert len(trace["x"]) == int(metric(at, "Flagged readings").replace(",", "")) > 0


def test_toggle_hides_anomalies():
    """Switching "Show anomalies" off removes the red trace from the chart."""
    at = studio()
    at.toggle(key="detect_show").set_value(False).run()
    names = [t.get("name") for t in chart_spec(at, "detect_chart")["data"]]
    assert "Anomalies" not in names and "Actual" in names


def test_other_modes_run():
    """Percentile, dynamic and per-month modes run; percentile and per-month flag something."""
    at = studio()
    for mode in ("percentile", "dynamic", "per_month"):
        at.selectbox(key="detect_mode").set_value(mode).run()
        assert not at.exception, (mode, [e.value for e in at.exception])
        if mode != "dynamic":  # dynamic may rightly flag nothing on a clean stretch
            assert int(metric(at, "Flagged readings").replace(",", "")) > 0, mode


def _metrics(at):
    found = [
        d.value for d in at.dataframe if list(d.value.columns) == ["metric", "detector", "random"]
    ]
    return found[0] if found else None


def test_metrics_panel_only_with_labels(shared_data):
    """No labels: no metrics table. A LEAD file with labels: metrics beside the random baseline."""
    at = studio()
    assert _metrics(at) is None
    path = shared_data / "lead_dev" / "building_1074.csv"
    at = app(detection_choice=detection(["seasonal_naive"]))  # fast; finds LEAD's labelled faults
    at.file_uploader(key="upload_file").upload(path.name, path.read_bytes(), "text/csv")
    at.run()  # an uploaded file becomes the current dataset by itself
    open_page(at, PAGE)
    frame = _metrics(at)
    assert frame is not None, "metrics table missing for a labelled dataset"
    assert {"F1 (points)", "F1 (events)", "AUC-ROC"} <= set(frame["metric"])
    at.slider(key="detect_k").set_value(1.0).run()
    before = _metrics(at).set_index("metric")["detector"]
    assert before["Recall (points)"] > 0
    at.slider(key="detect_k").set_value(3.2).run()
    after = _metrics(at).set_index("metric")
    assert not before.equals(after["detector"])  # moves with the threshold


def test_selecting_an_event_zooms_and_links_to_explanation():
    """Selecting a row zooms the chart to that event; "Explain this event" opens Explainability."""
    at = flagged_studio()
    table = events_table(at)
    first = table.value.iloc[0]
    at.session_state[table.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    x_range = chart_spec(at, "detect_chart")["layout"]["xaxis"]["range"]
    lo, hi = (pd.Timestamp(x) for x in x_range)
    assert lo <= pd.Timestamp(first["start"]) and pd.Timestamp(first["end"]) <= hi
    assert hi - lo < pd.Timedelta(days=30)
    at.button(key="detect_explain").click().run()
    assert not at.exception
    assert (
        at.title[0].value == "Explainability"
    )  # that page takes st.session_state["explain_event"]


def test_events_csv_download_escapes_formula_cells(monkeypatch, request):
    """The events CSV the page offers neutralises text a spreadsheet would run as a formula."""
    real_find, real_csv = core.detect.events.find_events, core.charts.report.events_csv
    sent: list[bytes] = []

    def find_with_formula(*args, **kwargs):
        events = real_find(*args, **kwargs)
        events["cause"] = '=HYPERLINK("http://x")' + events["cause"].astype(str)
        return events

    def spy(events):
        sent.append(real_csv(events))
        return sent[-1]

    monkeypatch.setattr(core.detect.run, "find_events", find_with_formula)
    monkeypatch.setattr(core.charts.report, "events_csv", spy)
    core.ui.cache.flagged.clear()  # events are cached by settings; make this test compute its own
    request.addfinalizer(core.ui.cache.flagged.clear)  # and leave no patched events behind
    at = flagged_studio()
    assert [b for b in at.get("download_button") if "Events CSV" in b.proto.label]
    text = sent[-1].decode()
    assert "'=HYPERLINK" in text
    assert not any(line.split(",")[-1].startswith("=") for line in text.splitlines())


@pytest.mark.parametrize("label", ["Events CSV", "Per-point flags CSV", "PDF report"])
def test_download_buttons_present(label):
    """The downloads are offered on the page."""
    at = studio()
    assert [b for b in at.get("download_button") if b.proto.label == label]


def test_chart_follows_the_streamlit_theme_in_the_browser():
    """The chart carries no server-side template and is drawn with theme="streamlit", so the browser
    restyles it at once when the user switches between light and dark (no rerun happens then)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["detection_choice"] = detection()
    at.run()
    open_page(at, PAGE)
    chart = next(c for c in at.get("plotly_chart") if "detect_chart" in c.proto.id)
    assert chart.proto.theme == "streamlit"
    layout = chart_spec(at, "detect_chart")["layout"]
    assert "paper_bgcolor" not in layout and "plot_bgcolor" not in layout


def test_switching_sample_on_the_page_keeps_it_working():
    """Switching to a sample with other dates, right on the studio page, re-scores without errors."""
    at = flagged_studio()
    at.sidebar.selectbox(key="sidebar_dataset").set_value("uk_demand").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "England" in at.caption[0].value
    assert int(metric(at, "Flagged readings").replace(",", "")) > 0


def test_detectors_change_only_on_apply(monkeypatch):
    """Picking other detectors scores nothing new until Apply is pressed; Apply switches to them."""
    before = detector_settings(FAST_DETECTORS)
    wanted = ["rolling_z", "seasonal_naive"]
    after = detector_settings(wanted)
    real_scored = core.ui.cache.scored
    asked: list = []

    def spy(ref, settings):
        asked.append(settings)
        return real_scored(ref, settings)

    monkeypatch.setattr(core.ui.cache, "scored", spy)
    at = studio()  # the first visit shows results at once, without Apply
    assert metric(at, "Events") and set(asked) == {before}
    at.multiselect(key="detect_detectors").set_value(wanted).run()  # picked, not applied
    assert not at.exception
    assert set(asked) == {before}, "a detector change was applied before Apply"
    assert at.session_state["detection_choice"].detector == before
    at.multiselect(key="detect_detectors").set_value(wanted)
    at.button(key="detect_apply").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert asked[-1] == after
    assert at.session_state["detection_choice"].detector == after
    assert at.multiselect(key="detect_detectors").value == wanted


def _meter_studio():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["detection_choice"] = detection(mode="percentile", percentile=98.0)
    at.query_params["meter"] = METER
    at.run()
    return open_page(at, PAGE)


def test_a_saved_meters_labels_are_shaded_on_the_chart(meter_home):
    """A missed span and a dismissed one show on the chart a person sees, named by their kind;
    a sample's chart has no label shapes."""
    from core.store.labels import SqlLabelRepository

    store, index = meter_home
    labels = SqlLabelRepository(store)
    labels.add(METER, index[100], index[104], "not_anomaly")
    labels.add(METER, index[872], index[895], "real", note="missed")
    at = _meter_studio()
    shapes = chart_spec(at, "detect_chart")["layout"].get("shapes", [])
    names = sorted(s.get("name", "") for s in shapes if s.get("name", "").startswith("label: "))
    assert names == ["label: dismissed", "label: missed"]
    sample = chart_spec(studio(), "detect_chart")["layout"].get("shapes", [])
    assert not [s for s in sample if s.get("name", "").startswith("label: ")]


def test_the_events_table_says_which_events_alerted(meter_home):
    """A saved meter's events table has an "Alerted" column: "—" before any alert; once the
    alerts sent one event (core.alerts.dispatch.process, a stand-in channel), that row says where."""
    from datetime import UTC, datetime

    from core.alerts.channels import add_channel
    from core.alerts.delivery import Outcome
    from core.alerts.dispatch import process
    from core.alerts.rules import new_rule
    from core.charts.tables import TYPE_NAMES
    from core.store.alerts import SqlAlertRepository
    from core.store.meters import SqlMeterRepository

    store, _ = meter_home
    at = _meter_studio()
    table = events_table(at).value
    assert len(table) > 1 and set(table["alerted"]) == {"—"}
    assert "alerted" not in events_table(studio()).value  # a sample: no alerts, no column

    class Sent:
        def send(self, url: str, subject: str, body: str) -> Outcome:
            return Outcome(True)

    add_channel(store, "ops-hook", "json://127.0.0.1:9/hook")
    SqlAlertRepository(store).save_rule(new_rule("everything", channels=["ops-hook"]))
    row = table.iloc[0]
    kind = {name: key for key, name in TYPE_NAMES.items()}.get(row["type"], row["type"])
    event = pd.DataFrame(
        [
            {
                "start": row["start"],
                "end": row["end"],
                "type": kind,
                "peak_score": 9.0,
                "excess": float(row["excess"]),
                "cause": row["cause"],
                "duration_h": float(row["duration_h"]),
            }
        ]
    )
    meter = SqlMeterRepository(store).get(METER)
    report = process(store, meter, event, row["end"], datetime.now(UTC), notifier=Sent())
    assert report.sent == 1
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = events_table(at).value
    assert shown["alerted"].iloc[0] == "sent to ops-hook"
    assert set(shown["alerted"].iloc[1:]) == {"—"}
