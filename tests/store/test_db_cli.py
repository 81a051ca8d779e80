"""``python -m core meters ...`` and ``db upgrade``: JSON and exit 0, or one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from core.__main__ import main
from core.store.db import open_store
from core.store.meters import SqlMeterRepository
from core.store.schema import SCHEMA_REVISION
from tests.conftest import REPO
from tests.store.conftest import hourly
from tests.store.pg_server import free_port


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    """Run ``python -m core`` in this process on the test database: (exit code, stdout, stderr)."""
    monkeypatch.setenv("WATTSUP_DATABASE_URL", db_url)
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path / "home"))

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as stop:  # argparse's own usage errors
            code = int(stop.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _csv(path: Path, frame: pd.DataFrame) -> str:
    frame.to_csv(path, index_label="timestamp")
    return str(path)


def test_import_prints_counts_and_reimport_changes_nothing(cli, tmp_path: Path) -> None:
    """meters import prints the counts as JSON; the same file again reports nothing changed."""
    path = _csv(tmp_path / "a.csv", hourly(100))
    code, out, _ = cli("meters", "import", path, "--meter", "a", "--unit", "kWh")
    assert code == 0
    first = json.loads(out)
    assert (first["created"], first["inserted"], first["unchanged"]) == (True, 100, 0)
    code, out, _ = cli("meters", "import", path, "--meter", "a")
    again = json.loads(out)
    assert code == 0 and again["inserted"] == 0 and again["unchanged"] == 100
    assert "nothing changed" in again["message"]


def test_import_reports_conflicts_and_applies_the_policy(cli, tmp_path: Path) -> None:
    """--on-conflict replace lists the conflicting timestamps and the stored values become the file's."""
    frame = hourly(50)
    cli("meters", "import", _csv(tmp_path / "a.csv", frame), "--meter", "a")
    changed = frame.copy()
    changed.iloc[[7, 8], 0] += 50.0
    path = _csv(tmp_path / "b.csv", changed)
    code, out, _ = cli("meters", "import", path, "--meter", "a", "--on-conflict", "replace")
    report = json.loads(out)
    assert code == 0 and report["conflicting"] == 2 and report["replaced"] == 2
    assert report["conflicts"] == ["2024-01-01T07:00:00", "2024-01-01T08:00:00"]
    code, out, _ = cli("meters", "export", "a")
    exported = pd.read_csv(pd.io.common.StringIO(out))
    assert exported["value"].iloc[7] == changed["value"].iloc[7]


def test_list_is_json(cli, tmp_path: Path) -> None:
    """meters list prints every meter as JSON with its unit, step and reading count."""
    cli(
        "meters",
        "import",
        _csv(tmp_path / "a.csv", hourly(60)),
        "--meter",
        "north",
        "--unit",
        "MWh",
    )
    code, out, _ = cli("meters", "list")
    listed = json.loads(out)
    assert code == 0
    assert [(m["name"], m["unit"], m["step"], m["readings"]) for m in listed] == [
        ("north", "MWh", "1h", 60)
    ]


def test_export_then_import_round_trips(cli, db_url: str, tmp_path: Path) -> None:
    """An exported CSV imported as another meter gives the same readings; Parquet export works too."""
    cli("meters", "import", _csv(tmp_path / "a.csv", hourly(60)), "--meter", "a")
    out_csv, out_pq = tmp_path / "out.csv", tmp_path / "out.parquet"
    assert cli("meters", "export", "a", "--out", str(out_csv))[0] == 0
    assert cli("meters", "export", "a", "--out", str(out_pq))[0] == 0
    assert cli("meters", "import", str(out_csv), "--meter", "copy")[0] == 0
    store = open_store(db_url, home=tmp_path / "home")
    repo = SqlMeterRepository(store)
    pd.testing.assert_frame_equal(repo.load("copy"), repo.load("a"))
    pd.testing.assert_frame_equal(pd.read_parquet(out_pq), repo.load("a"), check_freq=False)
    store.close()


def test_delete_then_delete_again(cli, tmp_path: Path) -> None:
    """meters delete removes the meter (exit 0); a second delete is one line and exit 2."""
    cli("meters", "import", _csv(tmp_path / "a.csv", hourly(50)), "--meter", "a")
    code, out, _ = cli("meters", "delete", "a")
    assert code == 0 and out.strip() == "deleted meter a and its 50 readings"
    code, out, err = cli("meters", "delete", "a")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("error: no meter named 'a'")
    assert json.loads(cli("meters", "list")[1]) == []


@pytest.mark.parametrize(
    "argv, words",
    [
        (["meters", "import", "missing.csv", "--meter", "a"], "does not exist"),
        (["meters", "import", "x.csv", "--meter", "a", "--on-conflict", "merge"], "invalid choice"),
        (["meters", "import", "x.csv"], "--meter"),
        (["meters", "export", "a", "--out", "a.txt"], ".csv or .parquet"),
        (["meters", "export", "nobody"], "no meter named 'nobody'"),
    ],
)
def test_bad_input_exits_2(cli, tmp_path: Path, argv: list[str], words: str) -> None:
    """Bad arguments, files or names exit 2 with the reason on stderr and store nothing."""
    _csv(tmp_path / "x.csv", hourly(50))
    cli("meters", "import", _csv(tmp_path / "a.csv", hourly(50)), "--meter", "a")
    argv = [str(tmp_path / a) if a.endswith((".csv", ".txt")) else a for a in argv]
    code, _, err = cli(*argv)
    assert code == 2 and words in err
    assert [m["name"] for m in json.loads(cli("meters", "list")[1])] == ["a"]


def test_db_upgrade(cli, db_url: str) -> None:
    """db upgrade migrates an empty database once, then says there is nothing to do."""
    code, out, _ = cli("db", "upgrade")
    assert code == 0 and f"upgraded from empty to schema revision {SCHEMA_REVISION}" in out
    code, out, _ = cli("db", "upgrade")
    assert code == 0 and "nothing to do" in out


def test_db_upgrade_refuses_a_newer_schema(cli, db_url: str) -> None:
    """A database from newer code makes db upgrade exit 2 with one line."""
    cli("db", "upgrade")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()
    code, _, err = cli("db", "upgrade")
    assert code == 2 and err.count("\n") == 1 and "newer than this WattsUp knows" in err


def test_unreachable_server_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """A real `python -m core meters list` against a dead server prints one error line, exit 2."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "WATTSUP_DATABASE_URL": f"postgresql://wattsup@127.0.0.1:{free_port()}/wattsup",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "core", "meters", "list"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: cannot reach the PostgreSQL database wattsup")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
