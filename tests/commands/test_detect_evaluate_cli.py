"""``python -m core detect`` and ``evaluate``: tables, CSV, JSON, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from core.__main__ import main
from tests.conftest import REPO, inject_anomalies, synthetic_frame

FAST = ["meter_fault", "seasonal_naive"]
KEYS = [
    "detector",
    "auc_roc",
    "auc_pr",
    "precision",
    "recall",
    "f1",
    "event_precision",
    "event_recall",
    "event_f1",
    "mean_delay_steps",
    "random_auc_roc",
    "random_f1",
    "fit_seconds",
    "score_seconds",
]


def cli(*args: str, models) -> subprocess.CompletedProcess:
    env = {**os.environ, "WATTSUP_MODELS_DIR": str(models), "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture(scope="module")
def labelled_csv(tmp_path_factory):
    """Four weeks of hourly kWh with a spike, a drop to zero, a flat run and a level shift labelled."""
    frame, labels = inject_anomalies(synthetic_frame(n_days=35))
    path = tmp_path_factory.mktemp("data") / "meter.csv"
    out = pd.DataFrame(
        {"timestamp": frame.index, "value": frame["value"].round(3), "anomaly": labels}
    )
    out.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


def test_detect_prints_an_events_table(labelled_csv, models):
    """Events are listed with type and cause; the injected drop to zero is among them."""
    run = cli("detect", str(labelled_csv), "--detector", "meter_fault", models=models)
    assert run.returncode == 0, run.stderr
    first, *rows = run.stdout.splitlines()
    assert first.startswith("meter.csv: ") and "meter_fault, sigma k=" in first
    assert rows[0].split()[:4] == ["event_id", "start", "end", "duration_h"]
    assert any("drop_to_zero" in r and "Dropped to zero for 6 hours" in r for r in rows)


def test_detect_writes_events_and_scores_csv(labelled_csv, models, tmp_path):
    """--out writes the events (with their energy unit), --scores one row per point with its flag."""
    out, scores = tmp_path / "events.csv", tmp_path / "scores.csv"
    run = cli(
        "detect", str(labelled_csv), "--detector", "meter_fault", "--mode", "percentile",
        "--percentile", "98", "--direction", "under", "--out", str(out), "--scores", str(scores),
        models=models,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    events = pd.read_csv(out)
    assert list(events.columns[:12]) == [
        "event_id", "start", "end", "duration_h", "n_points", "peak_score", "mean_score",
        "actual", "expected", "excess", "type", "cause",
    ]  # fmt: skip
    assert (events["energy_unit"] == "kWh").all()
    assert (events["excess"] < 0).all()  # under-use only
    points = pd.read_csv(scores)
    assert len(points) == 35 * 24 and "flag" in points
    assert f"{len(events)} events written" in run.stdout


def test_detect_csv_escapes_formula_cells(labelled_csv, tmp_path, monkeypatch, capsys):
    """A cause that a spreadsheet would run as a formula is written with a leading apostrophe."""
    import core.detect.run

    real = core.detect.run.find_events

    def hostile(*args, **kwargs):
        events = real(*args, **kwargs)
        events["cause"] = '=HYPERLINK("http://x")'
        events["type"] = "+spike"
        return events

    monkeypatch.setenv("WATTSUP_MODELS_DIR", str(tmp_path / "m"))
    monkeypatch.setattr(core.detect.run, "find_events", hostile)
    out = tmp_path / "events.csv"
    assert main(["detect", str(labelled_csv), "--detector", "meter_fault", "--out", str(out)]) == 0
    events = pd.read_csv(out)
    assert len(events) and events["cause"].str.startswith("'=").all()
    assert events["type"].str.startswith("'+").all()
    assert events["excess"].dtype.kind == "f"  # numbers stay numbers


def test_evaluate_prints_one_object_per_detector(labelled_csv, models):
    """JSON list in the order asked, with the pinned keys; labels come from the anomaly column."""
    run = cli(
        "evaluate", str(labelled_csv), *[a for d in FAST for a in ("--detector", d)], models=models
    )
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    assert [r["detector"] for r in results] == FAST
    for r in results:
        assert list(r) == KEYS
        assert 0.0 <= r["auc_roc"] <= 1.0 and r["fit_seconds"] >= 0 and r["score_seconds"] >= 0
    fault = results[0]
    assert fault["auc_roc"] > fault["random_auc_roc"]


def test_evaluate_with_nab_windows(tmp_path, models):
    """--windows builds labels for the file from its name in a NAB windows.json."""
    frame = synthetic_frame(n_days=21)
    frame.iloc[300:306, 0] = 0.0
    data = tmp_path / "machine.csv"
    pd.DataFrame({"timestamp": frame.index, "value": frame["value"]}).to_csv(data, index=False)
    start, end = frame.index[300], frame.index[305]
    windows = tmp_path / "windows.json"
    windows.write_text(json.dumps({"machine.csv": [[f"{start}.000000", f"{end}.000000"]]}))
    run = cli(
        "evaluate", str(data), "--detector", "meter_fault", "--windows", str(windows), models=models
    )
    assert run.returncode == 0, run.stderr
    (result,) = json.loads(run.stdout)
    assert result["event_recall"] == 1.0

    windows.write_text(json.dumps({"other.csv": []}))
    run = cli(
        "evaluate", str(data), "--detector", "meter_fault", "--windows", str(windows), models=models
    )
    assert run.returncode == 2 and "no windows for machine.csv" in run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["detect", "missing.csv"], "does not exist"),
        (["evaluate", "missing.csv"], "does not exist"),
        (["detect", "{file}", "--detector", "nope"], "unknown detector nope"),
        (["evaluate", "{nolabels}", "--detector", "meter_fault"], "has no labels"),
        (["detect", "{garbage}"], ""),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, labelled_csv, tmp_path, capsys):
    """Bad input prints one 'error:' line on stderr and returns 2, never a traceback."""
    nolabels = tmp_path / "plain.csv"
    pd.read_csv(labelled_csv).drop(columns="anomaly").to_csv(nolabels, index=False)
    garbage = tmp_path / "garbage.csv"
    garbage.write_text("hello\nworld\n")
    paths = {"file": labelled_csv, "nolabels": nolabels, "garbage": garbage}
    argv = [a.format(**paths) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


def test_default_detector_order_puts_the_ensemble_first():
    """Without --detector every registered detector is evaluated, ensemble first."""
    from core.commands.evaluate import _default_order
    from core.detect.detectors import REGISTRY

    order = _default_order(REGISTRY)
    assert order[0] == "ensemble" and sorted(order) == sorted(REGISTRY)


@pytest.mark.golden
def test_real_lead_building(shared_data, models):
    """On a real labelled LEAD building the default ensemble beats chance by a wide margin."""
    path = shared_data / "lead_dev" / "building_118.csv"
    run = cli(
        "evaluate", str(path), "--detector", "ensemble", "--detector", "meter_fault", models=models
    )
    assert run.returncode == 0, run.stderr
    ens, fault = json.loads(run.stdout)
    assert ens["detector"] == "ensemble" and fault["detector"] == "meter_fault"
    assert ens["auc_roc"] > ens["random_auc_roc"] + 0.3
    assert ens["f1"] > 5 * ens["random_f1"]
    assert ens["event_recall"] >= 0.5
    detect = cli("detect", str(path), "--detector", "ensemble", models=models)
    assert detect.returncode == 0, detect.stderr
    assert "drop_to_zero" in detect.stdout
