"""A real LEAD building pushed through the API in batches of 500 gives the events that
``python -m core detect`` gives on the same file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.ingest.data import parse_upload
from tests.api.conftest import create_meter, push
from tests.conftest import REPO

pytestmark = pytest.mark.golden


def test_lead_building_through_the_api_matches_the_cli(
    shared_data, sqlite_api, tmp_path: Path
) -> None:
    """Batches of 500 JSON readings (missing hours as null, labels as a column) -> detect -> the
    CLI's events: same spans, types, causes and excess energy."""
    path = shared_data / "lead_dev" / "building_121.csv"
    dataset = parse_upload(path.read_bytes(), path.name)
    out = tmp_path / "events.csv"
    cli = subprocess.run(
        [sys.executable, "-m", "core", "detect", str(path), "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "WATTSUP_MODELS_DIR": str(tmp_path / "models")},
    )
    assert cli.returncode == 0, cli.stderr
    expected = pd.read_csv(out)
    with sqlite_api.client() as client:
        name = create_meter(client, "lead-121")
        reports = push(client, name, dataset.frame, batch=500)
        answer = client.post(f"/v1/meters/{name}/detect", json={}).json()
    assert len(reports) == 18 and sum(r["inserted"] for r in reports) == len(dataset.frame)
    assert sum(r["rejected"] for r in reports) == 0
    events = answer["events"]
    assert len(events) == len(expected) > 0
    assert [e["start"] for e in events] == expected["start"].tolist()
    assert [e["end"] for e in events] == expected["end"].tolist()
    assert [e["type"] for e in events] == expected["type"].tolist()
    assert [e["cause"] for e in events] == expected["cause"].tolist()
    assert [e["excess"] for e in events] == pytest.approx(expected["excess"].tolist(), rel=1e-9)
