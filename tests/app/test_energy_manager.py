"""The studio as an energy manager sees it (issue 19), through the real router: public holidays
guessed and named, over-use and under-use priced apart, a threshold scale that ends where the
scores do, zooming to an event at full resolution, and the event in context on Explainability."""

from __future__ import annotations

import pandas as pd

from core.ui.cache import DatasetRef
from core.ui.settings import DetectionChoice
from tests.app.conftest import app, chart_spec, detection, events_table, metric, open_page

PAGE = "pages/3_anomaly_detection.py"
EXPLAIN = "pages/4_explainability.py"
# The Turin building: closed on Italian holidays; the default ensemble finds them (pretrained).
TURIN = {"detection_choice": detection(["ensemble"])}


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_holidays_guessed_named_and_counted_as_normal_with_one_click():
    """The Turin sample opens with Italy picked; its closed holidays are named 'Public holiday'
    events; one toggle counts them as normal, and the choice is shared with the other pages."""
    at = open_page(app(**TURIN), PAGE)
    country = [s for s in at.selectbox if str(s.key).startswith("detect_country_")]
    assert len(country) == 1 and country[0].value == "IT"
    table = events_table(at).value
    holidays = table[table["type"] == "Public holiday"]
    assert len(holidays) >= 4
    assert holidays["cause"].str.contains("Easter Monday: ").any()
    assert holidays["cause"].str.contains("below a usual").all()
    with_holidays = len(table)
    carpet = chart_spec(at, "detect_carpet")["data"]
    assert len(carpet[0]["z"]) == 365 and carpet[1]["name"] == "Anomalies" and carpet[1]["x"]
    at.toggle(key="detect_holidays_normal").set_value(True).run()
    assert not at.exception
    table = events_table(at).value
    assert "Public holiday" not in set(table["type"]) and len(table) < with_holidays
    shared = at.session_state["detection_choice"]
    assert isinstance(shared, DetectionChoice)
    assert shared.threshold.country == "IT" and shared.threshold.holidays_normal


def test_over_and_under_use_shown_apart_and_priced():
    """Over-use is positive, under-use negative, each priced at the tariff; the sigma slider
    ends just above the highest score, so its last step shows no events."""
    at = open_page(app(**TURIN), PAGE)
    over, under = _number(metric(at, "Over-use (kWh)")), _number(metric(at, "Under-use (kWh)"))
    assert over > 0 > under
    at.number_input(key="detect_tariff_kWh").set_value(0.5).run()
    assert _number(metric(at, "Cost of over-use")) == round(over * 0.5, 2)
    assert _number(metric(at, "Value of under-use")) == round(-under * 0.5, 2)
    slider = at.slider(key="detect_k")
    assert 3.0 < slider.max <= 3.4  # calibrated scores end near 3.29, not at 8
    slider.set_value(slider.max).run()
    assert metric(at, "Events") == "0"
    at.slider(key="detect_k").set_value(slider.max - 0.1).run()
    assert int(metric(at, "Events")) > 0


def test_clicking_an_event_zooms_at_full_resolution():
    """Selecting the largest event draws every reading of its window (PJM: 66k hourly readings,
    so the whole-series thinning alone would leave a handful there); the years are also laid over
    each other in the year-on-year chart."""
    at = open_page(
        app(dataset_key=DatasetRef.sample("pjm_comed"), **TURIN),
        PAGE,
    )
    yearly = chart_spec(at, "detect_year_on_year")["data"]  # eight years laid over each other
    assert [t["name"] for t in yearly if t.get("mode") == "lines"][:2] == ["2011", "2012"]
    table = events_table(at)
    at.session_state[table.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    spec = chart_spec(at, "detect_chart")
    lo, hi = (pd.Timestamp(x) for x in spec["layout"]["xaxis"]["range"])
    actual = next(t for t in spec["data"] if t.get("name") == "Actual")
    x = pd.to_datetime(pd.Series(actual["x"]))
    hours = int((hi - lo) / pd.Timedelta(hours=1))
    assert ((x >= lo) & (x <= hi)).sum() >= hours - 2  # every hour (DST gaps aside)
    assert spec["layout"]["yaxis"]["range"][0] >= 0


def test_explainability_context_is_the_event_and_a_few_days():
    """'Expected vs actual around the event' spans the event and three days either side."""
    at = open_page(
        app(dataset_key=DatasetRef.sample("uk_demand"), explain_view="Per anomaly", **TURIN),
        EXPLAIN,
    )
    spec = chart_spec(at, "explain_context")
    lo, hi = (pd.Timestamp(x) for x in spec["layout"]["xaxis"]["range"])
    assert pd.Timedelta(days=5) < hi - lo < pd.Timedelta(days=10)
