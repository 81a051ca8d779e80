"""Defaults chosen leave-one-file-out (``core.detect.tuning``, ``python -m core tune``) and event-wise
metrics on the events a person is shown (``evaluate(..., events=)``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd

from core.detect.evaluation import evaluate
from core.detect.pipeline import DetectorSettings
from core.detect.run import run_detection
from core.detect.tuning import Candidate, Labelled, choose, leave_one_out
from core.ingest.data import CleanOptions, Schema, parse_upload
from tests.conftest import REPO, inject_anomalies, synthetic_frame


def test_event_metrics_count_the_events_not_the_runs_of_flags():
    labels = pd.Series(np.r_[np.zeros(10), np.ones(5), np.zeros(10)])
    flags = labels.astype(bool) & (np.arange(25) % 2 == 0)  # 3 runs of flags inside one label
    plain = evaluate(labels, labels, flags)
    merged = evaluate(labels, labels, flags, events=labels.astype(bool))
    assert plain["event_precision"] == 1.0 and merged["event_precision"] == 1.0
    false = pd.Series(np.zeros(25, dtype=bool))
    false[[1, 3, 5]] = True  # three false runs, one false event when bridged
    f = flags | false
    bridged = f.copy()
    bridged[1:6] = True
    assert evaluate(labels, labels, f)["event_precision"] == 0.5  # 3 of 6 runs
    assert evaluate(labels, labels, f, events=bridged)["event_precision"] == 0.75
    assert evaluate(labels, labels, f, events=bridged)["f1"] == evaluate(labels, labels, f)["f1"]


def test_event_mask_covers_each_event_from_start_to_end():
    frame, _ = inject_anomalies(synthetic_frame(n_days=28))
    found = run_detection(frame, DetectorSettings("rolling_z"), freq="1h", unit="kWh")
    mask = found.event_mask()
    assert mask.index.equals(found.scored.index)
    assert mask[found.flags].all()  # every flag is inside an event
    covered = sum(len(mask[r.start : r.end]) for r in found.events.itertuples())
    assert int(mask.sum()) == covered


def _lead(shared_data, building: str) -> Labelled:
    path = shared_data / "lead_dev" / f"building_{building}.csv"
    ds = parse_upload(path.read_bytes(), path.name, Schema(), CleanOptions())
    return Labelled(building, ds.frame.drop(columns="label"), ds.frame["label"], ds.freq, ds.unit)


def test_leave_one_out_chooses_on_the_other_files_only(shared_data):
    files = [_lead(shared_data, b) for b in ("118", "697")]
    grid = [Candidate(k=k) for k in (2.0, 2.5)]
    result = leave_one_out(files, grid)
    assert [f["held_out"] for f in result["folds"]] == ["118", "697"]
    for fold in result["folds"]:
        m = fold["held_out_metrics"]
        assert m["f1"] > 5 * m["random_f1"]  # far above chance on a building it did not choose on
        assert 0.9 < m["auc_roc"] <= 1.0
    assert result["shipped"] == {"k": 2.0, "merge_gap": 1, "smooth_hours": 3.0}


def test_ties_go_to_the_shipped_defaults():
    same = {"f1": 0.5, "event_f1": 0.5}
    scores = {("a", c): same for c in (Candidate(k=2.5), Candidate(), Candidate(k=1.75))}
    assert choose(scores, ["a"], [Candidate(k=2.5), Candidate(), Candidate(k=1.75)]) == Candidate()


def _cli(*args: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WATTSUP_MODELS_DIR": str(tmp_path), "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "core", "tune", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_tune_command_prints_a_table_and_json(shared_data, tmp_path):
    files = [str(shared_data / "lead_dev" / f"building_{b}.csv") for b in ("118", "121")]
    out = _cli(*files, tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "| building_118 |" in out.stdout and "**mean**" in out.stdout
    assert "scored" in out.stderr  # progress goes to stderr
    js = _cli(*files, "--json", tmp_path=tmp_path)
    result = json.loads(js.stdout)
    assert len(result["folds"]) == 2
    assert result["held_out_mean"]["f1"]["min"] <= result["held_out_mean"]["f1"]["max"]


def test_tune_command_refuses_bad_input_in_one_line(shared_data, tmp_path):
    lead = str(shared_data / "lead_dev" / "building_118.csv")
    one = _cli(lead, tmp_path=tmp_path)
    assert one.returncode == 2 and "at least two labelled files" in one.stderr
    unlabelled = str(shared_data / "pjm_hourly" / "DAYTON_hourly.csv")
    bad = _cli(unlabelled, lead, tmp_path=tmp_path)
    assert bad.returncode == 2 and "DAYTON_hourly.csv has no labels" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = _cli(lead, str(tmp_path / "nope.csv"), tmp_path=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
