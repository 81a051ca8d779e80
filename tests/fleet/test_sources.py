"""Fleet sources: a long-format file, a folder, the saved meters (by owner), read one by one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.errors import DataError
from core.fleet.sources import file_source, folder_source, stored_meters
from core.ingest.data import Schema, parse_upload
from core.store.db import open_store
from core.store.meters import SqlMeterRepository
from tests.fleet.conftest import BUILDINGS, lead_csv, long_csv, meter_input


def test_long_format_file_gives_one_meter_per_id(long_file: Path) -> None:
    """Each building_id is a meter, in file order, read exactly as an upload of that meter is."""
    source = file_source(long_file)
    assert source.total == len(BUILDINGS)
    items = list(source.items)
    assert [i.name for i in items] == list(BUILDINGS)
    data = long_csv().encode()
    for item in items:
        got = item.load()
        alone = parse_upload(data, long_file.name, Schema(meter=item.name))
        pd.testing.assert_frame_equal(got.frame, alone.frame)
        assert (got.freq, got.unit) == (alone.freq, alone.unit)


def test_metadata_beside_the_file_names_site_and_type(long_file: Path) -> None:
    """LEAD's metadata.csv gives each building its site and primary use."""
    meters = {i.name: i.load() for i in file_source(long_file).items}
    assert (meters["1074"].site, meters["1074"].building_type) == ("13", "Office")
    assert (meters["118"].site, meters["118"].building_type) == ("1", "Education")


def test_folder_reads_every_file_and_reports_a_bad_one(tmp_path: Path) -> None:
    """A folder's files are meters in name order; an unreadable one is an item that fails."""
    (tmp_path / "a_118.csv").write_text(lead_csv("118"))
    (tmp_path / "b_697.csv").write_text(lead_csv("697"))
    (tmp_path / "c_empty.csv").write_text("")
    (tmp_path / "notes.md").write_text("not data")
    items = list(folder_source(tmp_path).items)
    assert [i.name for i in items] == ["118", "697", "c_empty.csv"]
    assert len(items[0].load().frame) == 24 * 7 * 8
    with pytest.raises(DataError, match="empty"):
        items[2].load()


def test_missing_path_and_empty_folder_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        file_source(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="no CSV"):
        folder_source(tmp_path)


def test_saved_meters_of_one_owner_only(tmp_path: Path) -> None:
    """stored_meters lists only the owner's meters, each on its grid (a gap comes back as NaN)."""
    store = open_store(f"sqlite:///{tmp_path / 'w.db'}", home=tmp_path)
    try:
        repo = SqlMeterRepository(store)
        m = meter_input("118")
        gappy = m.frame.drop(m.frame.index[200:210])
        repo.import_frame(
            "hall", gappy, unit="kWh", step=m.freq, site="1", building_type="Education"
        )
        repo.import_frame("theirs", m.frame, unit="kWh", step=m.freq, owner="acme")
        source = stored_meters(store)
        assert source.total == 1
        (item,) = list(source.items)
        got = item.load()
        assert (got.name, got.site, got.building_type, got.unit) == (
            "hall",
            "1",
            "Education",
            "kWh",
        )
        assert got.frame.index.equals(m.frame.index)
        assert int(got.frame["value"].isna().sum()) == 10
        assert [i.name for i in stored_meters(store, "acme").items] == ["theirs"]
    finally:
        store.close()
