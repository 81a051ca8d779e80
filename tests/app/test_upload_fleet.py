"""Upload page, long-format file: "Score all N meters" ranks every meter in the session (a table
row per meter, the failures with their reason) and stores nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st

from tests.app.conftest import app, detection
from tests.fleet.conftest import long_csv

GOOD = ("118", "121")
ROWS = 24 * 7 * 8  # eight weeks each


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty WATTSUP_HOME (no database yet), in-process scoring, caches emptied."""
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    monkeypatch.delenv("WATTSUP_DASK_SCHEDULER", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield tmp_path / "home"
    st.cache_data.clear()
    st.cache_resource.clear()


def long_upload() -> bytes:
    """Two LEAD buildings and a meter whose readings are text."""
    broken = "".join(f"broken,2016-01-01 {h:02d}:00:00,error {h},0\n" for h in range(24))
    return (long_csv(GOOD, ROWS) + broken).encode()


def fleet_table(at):
    found = [d for d in at.dataframe if d.key == "upload_fleet_table"]
    assert found, "no fleet table on the page"
    return found[0].value


def test_score_all_meters_shows_one_row_per_meter_and_the_failure(home: Path) -> None:
    """The button scores the three meters with the session's detector; the broken one is listed
    with its reason, the table has a row per meter, a new tariff reprices without rescoring."""
    at = app(detection_choice=detection())
    at.file_uploader(key="upload_file").upload("lead_long.csv", long_upload(), "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(b.label == "Score all 3 meters" for b in at.button)
    captions = " ".join(c.value for c in at.caption)
    assert "Save meters to keep them and see them on the Portfolio page" in captions

    at.button(key="upload_fleet_score").click().run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    assert any("scored 2 of 3 meters" in s.value for s in at.success)
    table = fleet_table(at)
    assert sorted(table["meter"]) == ["118", "121", "broken"]
    assert table["cost"].iloc[:2].notna().all() and table["meter"].iloc[-1] == "broken"
    assert "open" in table  # sent, but hidden: these meters open nowhere
    warning = " ".join(w.value for w in at.warning)
    assert "1 of 3 meters could not be scored" in warning
    assert "broken" in warning and "no numeric readings" in warning
    assert any("upload_fleet_top" in c.proto.id for c in at.get("plotly_chart"))
    assert not (home / "wattsup.db").exists()  # nothing stored

    seconds = at.session_state["upload_fleet"][1].seconds
    over = dict(zip(table["meter"], table["excess_over_kwh"], strict=True))
    at.number_input(key="upload_fleet_tariff").set_value(1.0).run()
    repriced = fleet_table(at)
    assert at.session_state["upload_fleet"][1].seconds == seconds  # not scored again
    costs = dict(zip(repriced["meter"], repriced["cost"], strict=True))
    assert {m: costs[m] for m in GOOD} == pytest.approx({m: over[m] for m in GOOD}, abs=0.01)


def pick_row(at, key: str, row: int) -> None:
    """Run as if the browser selected ``row`` of table ``key`` (AppTest cannot click a table)."""
    (table,) = [d for d in at.dataframe if d.key == key]
    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = table.proto.id
    state.string_value = json.dumps({"selection": {"rows": [row], "columns": [], "cells": []}})
    at._run(states)


def test_picking_a_row_shows_that_meter(home: Path) -> None:
    """Selecting a meter's row in the fleet table shows that meter in the page's Meter box."""
    at = app(detection_choice=detection())
    at.file_uploader(key="upload_file").upload("lead_long.csv", long_upload(), "text/csv")
    at.run()
    at.button(key="upload_fleet_score").click().run()
    meter_box = [s for s in at.selectbox if s.label == "Meter"][0]
    assert meter_box.value == "118"
    names = fleet_table(at)["meter"].tolist()
    row = names.index("121")
    pick_row(at, "upload_fleet_table", row)
    assert not at.exception, [e.value for e in at.exception]
    assert [s for s in at.selectbox if s.label == "Meter"][0].value == "121"
    assert sorted(fleet_table(at)["meter"]) == ["118", "121", "broken"]  # still scored


def test_a_single_meter_file_offers_no_fleet(home: Path, lead_bytes) -> None:
    """A file without a meter id column (one building) has no "Score all" button."""
    name, data = lead_bytes
    at = app(detection_choice=detection())
    at.file_uploader(key="upload_file").upload(name, data, "text/csv")
    at.run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "upload_fleet_score"]


def test_the_sidebar_names_the_meter_of_a_multi_meter_file(home: Path) -> None:
    """One meter of a long-format file is the current dataset: the sidebar says which, and follows
    the Meter box."""
    from tests.app.conftest import sidebar_markdown

    at = app(detection_choice=detection())
    at.file_uploader(key="upload_file").upload("lead_long.csv", long_upload(), "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Meter: **118**" in sidebar_markdown(at)
    [s for s in at.selectbox if s.label == "Meter"][0].set_value("121").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Meter: **121**" in sidebar_markdown(at)
    assert at.session_state["dataset_key"].schema.meter == "121"
