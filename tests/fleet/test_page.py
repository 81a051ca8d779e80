"""The Portfolio page (AppTest, through the real router): the last fleet run as a table with a link
and a sparkline per meter, the top wasters, the tariff, and "Score all saved meters"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st

from core.fleet.run import run_fleet
from core.fleet.sources import stored_meters
from core.store.db import open_store
from core.store.fleet import SqlFleetRepository
from core.store.meters import SqlMeterRepository
from tests.app.conftest import app, detection, open_page

PAGE = "pages/6_portfolio.py"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, meters) -> Path:
    """A WATTSUP_HOME with two saved meters and one fleet run over them; no cached store."""
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    monkeypatch.delenv("WATTSUP_DASK_SCHEDULER", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    store = open_store()
    try:
        repo = SqlMeterRepository(store)
        for m, site in zip(meters[:2], ("1", "2"), strict=True):
            repo.import_frame(f"hall {m.name}", m.frame, unit="kWh", step=m.freq, site=site)
        run_fleet(stored_meters(store), repo=SqlFleetRepository(store), runner="local")
    finally:
        store.close()
    yield tmp_path / "home"
    st.cache_data.clear()
    st.cache_resource.clear()


def test_portfolio_shows_the_last_run_with_links_and_sparklines(home: Path) -> None:
    """Each meter is a row, most costly first, linking to its Anomaly detection page."""
    at = open_page(app(detection_choice=detection()), PAGE)
    table = at.dataframe[0].value
    assert sorted(table["meter"]) == ["hall 118", "hall 121"]
    assert table["cost"].is_monotonic_decreasing
    assert set(table["open"]) == {
        "anomaly_detection?meter=hall%20118",
        "anomaly_detection?meter=hall%20121",
    }
    assert all(len(s) == 56 for s in table["sparkline"])  # eight weeks, a mean per day
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["sparkline"]["type_config"]["type"] == "line_chart"
    assert config["open"]["type_config"]["type"] == "link"
    assert any("fleet_top" in c.proto.id for c in at.get("plotly_chart"))

    over = dict(zip(table["meter"], table["excess_over_kwh"], strict=True))
    at.number_input(key="fleet_tariff").set_value(1.0).run()
    repriced = at.dataframe[0].value
    assert dict(zip(repriced["meter"], repriced["cost"], strict=True)) == pytest.approx(
        over, abs=0.01
    )

    at.multiselect(key="fleet_site").set_value(["2"]).run()
    assert at.dataframe[0].value["meter"].tolist() == ["hall 121"]


def test_score_all_saved_meters_stores_a_new_run(home: Path) -> None:
    """The button scores every saved meter with the session's detector and shows the new run."""
    at = open_page(app(detection_choice=detection()), PAGE)
    at.button(key="fleet_score").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("scored 2 of 2 meters" in s.value for s in at.success)
    store = open_store()
    try:
        runs = SqlFleetRepository(store).runs()
    finally:
        store.close()
    assert len(runs) == 2 and runs[0].settings["detector"] == "rolling_z"
    assert f"Fleet run {runs[0].id}:" in " ".join(c.value for c in at.caption)


def test_no_run_yet_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path / "empty"))
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = open_page(app(detection_choice=detection()), PAGE)
    assert any("No fleet has been scored yet" in i.value for i in at.info)
    assert not (tmp_path / "empty" / "wattsup.db").exists()  # looking creates no database
