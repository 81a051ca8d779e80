"""The detection studio builds each setting's chart and table once, for every session."""

from __future__ import annotations

import core.ui.views
from tests.app.conftest import app, chart_spec, detection, events_table, metric, open_page

PAGE = "pages/3_anomaly_detection.py"


def _count_builds(monkeypatch) -> list:
    """Record every chart and events summary the studio builds (not those it finds kept)."""
    built: list = []
    real_chart, real_table = core.ui.views.anomaly_figure, core.ui.views.events_table

    def chart(*args, **kwargs):
        built.append("chart")
        return real_chart(*args, **kwargs)

    def table(*args, **kwargs):
        built.append("table")
        return real_table(*args, **kwargs)

    monkeypatch.setattr(core.ui.views, "anomaly_figure", chart)
    monkeypatch.setattr(core.ui.views, "events_table", table)
    core.ui.views._figures.clear()
    core.ui.views._summaries.clear()
    return built


def test_a_setting_seen_in_one_session_is_not_rebuilt_in_another(monkeypatch):
    """Session A tries k = 3.0 and goes back; session B then picks k = 3.0: neither the chart nor
    the events table is built again, and both sessions show the same chart and counters."""
    built = _count_builds(monkeypatch)
    a = open_page(app(detection_choice=detection()), PAGE)
    a.slider(key="detect_k").set_value(3.0).run()
    a_events, a_chart = metric(a, "Events"), chart_spec(a, "detect_chart")
    a.slider(key="detect_k").set_value(2.0).run()
    assert built.count("chart") == 2 and built.count("table") == 2  # two settings, each once
    a.slider(key="detect_k").set_value(3.0).run()  # back to a setting already seen
    b = open_page(app(detection_choice=detection()), PAGE)
    b.slider(key="detect_k").set_value(3.0).run()
    assert not a.exception and not b.exception
    assert built.count("chart") == 2 and built.count("table") == 2
    assert metric(b, "Events") == a_events
    assert chart_spec(b, "detect_chart") == a_chart
    assert len(events_table(b).value) == len(events_table(a).value)


def test_kept_views_follow_the_events_they_show(monkeypatch):
    """A view is kept under a digest of its flags and events: other events for the same settings
    (here: a date range that cuts some away) get their own table and chart."""
    built = _count_builds(monkeypatch)
    at = open_page(app(detection_choice=detection()), PAGE)
    whole = len(events_table(at).value)
    first, last = at.date_input[0].value
    at.date_input[0].set_value((first, first.replace(day=min(first.day + 6, 28)))).run()
    assert not at.exception
    table = events_table(at)
    assert (0 if table is None else len(table.value)) < whole
    assert built.count("chart") == 2
