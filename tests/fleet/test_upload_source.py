"""An upload's bytes as a fleet (``upload_source``): read as ``file_source`` reads a file, each meter
scored exactly as on its own, a broken meter reported while the others go on."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.errors import DataError
from core.fleet.portfolio import FleetSettings, score_meter
from core.fleet.run import run_fleet
from core.fleet.runner import score_fleet
from core.fleet.sources import file_source, upload_source
from core.ingest.data import Schema
from core.store.fleet import ROW_KEYS
from tests.fleet.conftest import long_csv, meter_input

GOOD = ("118", "121")
ROWS = 24 * 7 * 8  # eight weeks each: a default-ensemble fit stays near 0.1 s
NAME = "lead_long.csv"


def upload_bytes() -> bytes:
    """Two LEAD buildings and a third meter whose readings are text (it cannot be scored)."""
    broken = "".join(f"broken,2016-01-01 {h:02d}:00:00,error {h},0\n" for h in range(24))
    return (long_csv(GOOD, ROWS) + broken).encode()


def test_upload_counts_its_meters_in_file_order() -> None:
    """One item per id of the meter column, the same items ``file_source`` reads from disk."""
    data = upload_bytes()
    source = upload_source(data, NAME)
    assert source.total == 3
    assert [i.name for i in source.items] == [*GOOD, "broken"]
    assert "3 meters" in source.description


def test_upload_and_file_share_one_reading(tmp_path: Path) -> None:
    """The bytes of an upload and the same file on disk give identical items."""
    data = upload_bytes()
    (tmp_path / NAME).write_bytes(data)
    assert list(upload_source(data, NAME).items) == list(file_source(tmp_path / NAME).items)


def test_the_meter_the_page_shows_does_not_narrow_the_fleet() -> None:
    """``Schema(meter=...)`` (the Upload page's one meter) is ignored: every meter is scored."""
    source = upload_source(upload_bytes(), NAME, Schema(meter="121"))
    assert [i.name for i in source.items] == [*GOOD, "broken"]


def test_a_meter_scored_from_an_upload_gets_exactly_its_own_events() -> None:
    """Each good meter's row and events equal scoring that building's own file; the broken one
    fails with a one-line reason and the others go on."""
    settings = FleetSettings()
    outcomes = {
        o.name: o
        for o in score_fleet(upload_source(upload_bytes(), NAME).items, settings, runner="local")
    }
    assert set(outcomes) == {*GOOD, "broken"}
    failed = outcomes["broken"]
    assert failed.result is None and "no numeric readings" in failed.error
    assert "\n" not in failed.error
    for building in GOOD:
        got = outcomes[building].result
        alone = score_meter(meter_input(building, ROWS), settings)
        assert got is not None and got.row == alone.row
        pd.testing.assert_frame_equal(got.events, alone.events)


def test_run_fleet_hands_every_row_to_on_row_and_stores_nothing() -> None:
    """``on_row`` gets each meter's row (``ROW_KEYS``), failures included; no repository is needed."""
    rows: list[dict] = []
    summary = run_fleet(upload_source(upload_bytes(), NAME), runner="local", on_row=rows.append)
    assert (summary.scored, summary.failed, summary.run_id) == (2, 1, None)
    assert summary.failures[0][0] == "broken"
    assert [r["meter"] for r in rows] == [*GOOD, "broken"]
    assert all(tuple(r) == ROW_KEYS for r in rows)
    assert rows[2]["error"] and rows[2]["points"] is None
    assert rows[0]["error"] is None and rows[0]["points"] == ROWS


@pytest.mark.parametrize("text", ["", "timestamp,kwh\n"])
def test_an_empty_upload_is_one_line_error(text: str) -> None:
    """An upload with no readings is refused at once, in words."""
    with pytest.raises(DataError):
        upload_source(text.encode(), "empty.csv")
