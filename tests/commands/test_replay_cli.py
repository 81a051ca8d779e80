"""``python -m core replay``: live events as JSON on real files, the same as offline warm-up detection,
and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from core.detect.pipeline import DetectorSettings, causal_settings, make_detector
from core.detect.run import run_detection
from core.detect.thresholds import ThresholdSettings
from core.ingest.data import parse_upload
from tests.conftest import REPO, SAMPLE_DATA

KEYS = {"event_id", "start", "end", "type", "peak_score", "excess", "cause", "alerted_at"}


def replay_cli(*args: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WATTSUP_MODELS_DIR": str(tmp_path / "models"), "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "core", "replay", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_replay_of_the_bundled_sample_prints_the_offline_warmup_events(tmp_path):
    """The UK demand sample replayed in day-sized batches lists the events offline detection after
    the same 28-day warm-up finds, with alert times no earlier than the events."""
    path = SAMPLE_DATA / "taylor_uk_demand.csv"
    out = replay_cli(
        str(path),
        "--warmup-days",
        "28",
        "--batch",
        "48",
        "--detector",
        "rolling_z",
        tmp_path=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout)
    assert events and all(set(e) >= KEYS for e in events)
    assert all(pd.Timestamp(e["alerted_at"]) >= pd.Timestamp(e["start"]) for e in events)
    ds = parse_upload(path.read_bytes(), path.name)
    warmup = 28 * 48
    det = make_detector(causal_settings(DetectorSettings("rolling_z"))).fit(ds.frame.iloc[:warmup])
    offline = run_detection(
        ds.frame,
        DetectorSettings("rolling_z"),
        freq=ds.freq,
        unit=ds.unit,
        detector=det,
        warmup=warmup,
    )
    assert [e["start"] for e in events] == [t.isoformat() for t in offline.events["start"]]
    assert [e["type"] for e in events] == offline.events["type"].tolist()


@pytest.mark.golden
def test_replay_of_a_labelled_lead_building_reports_label_delays(shared_data, tmp_path):
    """On a hand-labelled LEAD building the replay raises events and says how late each labelled
    anomaly was caught."""
    out = replay_cli(
        str(shared_data / "lead_dev" / "building_1074.csv"),
        "--warmup-days",
        "28",
        "--batch",
        "24",
        "--mode",
        "per_month",
        "--alerts-per-month",
        "4",
        tmp_path=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout)
    assert events and any(e["label_delay"] is not None for e in events)
    assert all(e["label_delay"] is None or e["label_delay"] >= 0 for e in events)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--warmup-days", "0"], "--warmup-days must be more than 0"),
        (["--warmup-days", "9999"], "covers the whole file"),
        (["--warmup-days", "28", "--batch", "0"], "--batch must be 1 or more"),
        (["--warmup-days", "28", "--detector", "nope"], "unknown detector nope"),
        (
            ["--warmup-days", "28", "--mode", "per_month", "--alerts-per-month", "-1"],
            "alerts_per_month",
        ),
    ],
)
def test_bad_replay_arguments_exit_2_with_one_line(args, needle, tmp_path):
    """Each bad option is refused with one line that names it, and exit status 2."""
    out = replay_cli(str(SAMPLE_DATA / "taylor_uk_demand.csv"), *args, tmp_path=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in out.stderr


def test_threshold_settings_follow_the_offline_class():
    """The replay's threshold options build the same ThresholdSettings the page uses (k default)."""
    from core.__main__ import build_parser
    from core.commands import threshold_settings

    args = build_parser().parse_args(["replay", "f.csv", "--warmup-days", "14"])
    assert threshold_settings(args) == ThresholdSettings()
