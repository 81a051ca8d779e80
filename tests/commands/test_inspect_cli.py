"""``python -m core inspect``: JSON report and exit 0, or one line on stderr and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, SAMPLE_DATA


def inspect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", "inspect", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_report_as_json() -> None:
    """A good file prints the report with the documented keys and exits 0."""
    out = inspect(str(SAMPLE_DATA / "pjm_comed_hourly.csv"))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    for key in (
        "rows",
        "start",
        "end",
        "step",
        "columns",
        "duplicate_timestamps",
        "gaps",
        "negative_values",
        "flat_runs",
        "zero_runs",
        "cumulative_register",
        "changes",
        "warnings",
    ):
        assert key in report
    assert (report["rows"], report["step"], report["unit"]) == (66497, "1h", "MW")
    assert report["duplicate_timestamps"]["count"] == 4 and report["gaps"]["missing_steps"] == 11
    assert report["cumulative_register"] is False


def test_options_reach_the_parser() -> None:
    """--value-col, --freq and --unit shape the report."""
    out = inspect(
        str(SAMPLE_DATA / "polito_building_load_temp.csv"),
        "--value-col",
        "Total_Power",
        "--freq",
        "1h",
        "--unit",
        "kw",
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["resampled"] == {"from": "15min", "to": "1h", "how": "mean", "incomplete_bins": 0}
    assert report["points"] == 8760 and report["unit_source"] == "schema"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["no/such/file.csv"],
            "error: no/such/file.csv does not exist: check the path and try again.\n",
        ),
        (
            ["sample_data"],
            "error: sample_data is a folder: give the path of one CSV, JSON or Parquet file.\n",
        ),
        (["sample_data/README.md"], "error: No timestamp column found in README.md"),
        (
            ["sample_data/taylor_uk_demand.csv", "--meter", "x"],
            "error: Meter 'x' was asked for but taylor_uk_demand.csv has no meter or building id column",
        ),
        (
            ["sample_data/taylor_uk_demand.csv", "--value-col", "nope"],
            "error: Value column 'nope' not found in taylor_uk_demand.csv",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    """Missing files, folders and unusable input: one line on stderr, exit 2, no traceback."""
    out = inspect(*args)
    assert out.returncode == 2
    assert out.stderr.startswith(message) and out.stderr.count("\n") == 1
    assert "Traceback" not in out.stderr and out.stdout == ""
