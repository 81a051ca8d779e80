"""python -m core fleet score: exit 0 with a summary (stored, CSV files), or 2 and one line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.__main__ import main
from core.store.db import open_store
from core.store.fleet import SqlFleetRepository
from core.store.meters import SqlMeterRepository
from tests.fleet.conftest import BUILDINGS


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    monkeypatch.delenv("WATTSUP_DASK_SCHEDULER", raising=False)
    return tmp_path / "home"


def test_long_file_scored_stored_and_written(
    home: Path, long_file: Path, tmp_path: Path, capsys
) -> None:
    """Exit 0; the summary names the largest wasters; rows and events in CSV and in the store."""
    out, events = tmp_path / "portfolio.csv", tmp_path / "events.csv"
    argv = ["fleet", "score", str(long_file), "--runner", "local", "--tariff", "0.2"]
    code = main([*argv, "--out", str(out), "--events", str(events)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "scored 4 of 4 meters" in printed and "largest over-use:" in printed
    portfolio = pd.read_csv(out, dtype={"meter": str, "site": str})
    assert portfolio["meter"].tolist() == list(BUILDINGS)
    assert portfolio["cost"].tolist() == pytest.approx(
        (portfolio["excess_over_kwh"] * 0.2).round(2)
    )
    assert portfolio.set_index("meter").loc["1074", "building_type"] == "Office"
    per_meter = pd.read_csv(events, dtype={"meter": str}).groupby("meter").size()
    assert per_meter.to_dict() == portfolio.set_index("meter")["events"].to_dict()
    store = open_store()
    try:
        repo = SqlFleetRepository(store)
        run = repo.latest()
        assert run is not None and run.meters == 4 and run.failed == 0
        assert sorted(repo.rows(run.id)["meter"]) == sorted(BUILDINGS)
    finally:
        store.close()


def test_saved_meters_are_a_source(home: Path, meters, tmp_path: Path, capsys) -> None:
    """SOURCE 'meters' scores the saved meters; a failing one is listed with its reason; a name a
    spreadsheet would run as a formula is escaped in the CSV."""
    store = open_store()
    try:
        repo = SqlMeterRepository(store)
        repo.import_frame("=hall", meters[0].frame, unit="kWh", step=meters[0].freq)
        repo.import_frame("tiny", meters[1].frame.iloc[:30], unit="kWh", step=meters[1].freq)
    finally:
        store.close()
    out = tmp_path / "p.csv"
    assert main(["fleet", "score", "meters", "--runner", "local", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "scored 1 of 2 meters" in printed and "failed: tiny:" in printed
    assert pd.read_csv(out)["meter"].tolist() == ["'=hall", "tiny"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fleet", "score", "no/such.csv"], "does not exist"),
        (["fleet", "score", "LONG", "--tariff", "-1"], "--tariff"),
        (["fleet", "score", "LONG", "--detector", "nope"], "unknown detector"),
        (["fleet", "score", "LONG", "--out", "no/such/dir/p.csv"], "folder does not exist"),
        (["fleet", "score", "meters"], "nothing to score"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    home: Path, long_file: Path, argv, message, capsys
) -> None:
    argv = [str(long_file) if a == "LONG" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("error: ")


def test_all_meters_failing_exits_2(home: Path, tmp_path: Path, capsys) -> None:
    """A file whose only meter cannot be scored is bad input: exit 2, its reason in one line."""
    path = tmp_path / "short.csv"
    path.write_text("timestamp,kWh\n" + "".join(f"2024-01-01 {h:02d}:00,1\n" for h in range(10)))
    assert main(["fleet", "score", str(path), "--runner", "local", "--no-store"]) == 2
    err = capsys.readouterr().err
    assert "no meter could be scored" in err and err.count("\n") == 1
