"""Fleet fixtures: a few short real meters (LEAD buildings, eight weeks each) and their files.

Eight weeks of hourly readings (1,344) keep a default-ensemble fit near 0.1 s, so every test can
use the detector the fleet really runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.fleet.portfolio import MeterInput
from core.ingest.data import parse_upload
from tests.conftest import SHARED_DATA

LEAD = SHARED_DATA / "lead_dev"
BUILDINGS = ("118", "121", "697", "1074")
ROWS = 24 * 7 * 8  # eight weeks


def lead_csv(building: str, rows: int = ROWS) -> str:
    """The first ``rows`` data lines of a LEAD building's file, header included, as text."""
    lines = (LEAD / f"building_{building}.csv").read_text().splitlines()
    return "\n".join(lines[: rows + 1]) + "\n"


def long_csv(buildings=BUILDINGS, rows: int = ROWS) -> str:
    """A long-format file: the buildings one after another under one header (LEAD's layout)."""
    parts = [lead_csv(b, rows).splitlines() for b in buildings]
    return "\n".join([parts[0][0], *(line for p in parts for line in p[1:])]) + "\n"


def meter_input(building: str, rows: int = ROWS) -> MeterInput:
    """A LEAD building as the fleet scores it: the frame an upload of its rows gives."""
    ds = parse_upload(lead_csv(building, rows).encode(), f"building_{building}.csv")
    return MeterInput(building, ds.frame, ds.freq, ds.unit)


@pytest.fixture(scope="session")
def long_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four buildings in one long-format CSV, with LEAD's metadata.csv beside it."""
    folder = tmp_path_factory.mktemp("long")
    path = folder / "lead_long.csv"
    path.write_text(long_csv())
    (folder / "metadata.csv").write_text((LEAD / "metadata.csv").read_text())
    return path


@pytest.fixture(scope="session")
def meters() -> list[MeterInput]:
    return [meter_input(b) for b in BUILDINGS]
