"""``python -m core labels ...``, ``retrain`` and ``evaluate --train-labels-until``, in process."""

from __future__ import annotations

import json

import pytest

from core.__main__ import main
from core.store.db import open_store
from core.store.meters import SqlMeterRepository
from tests.labels.conftest import METER, spans


@pytest.fixture
def db(tmp_path, monkeypatch, series):
    monkeypatch.setenv("WATTSUP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WATTSUP_MODELS_DIR", str(tmp_path / "models"))
    store = open_store()
    SqlMeterRepository(store).import_frame(METER, series[0], unit="kWh")
    store.close()
    return tmp_path


def test_add_import_export_list(db, series, capsys):
    """Labels added and imported come back from list and export; a bad file exits 2, writes nothing."""
    idx = series[0].index
    assert (
        main(
            [
                "labels",
                "add",
                METER,
                "--start",
                str(idx[5]),
                "--end",
                str(idx[6]),
                "--verdict",
                "expected",
                "--note",
                "drill",
            ]
        )
        == 0
    )
    file = db / "labels.csv"
    spans(idx).to_csv(file, index=False)
    assert main(["labels", "import", METER, str(file)]) == 0
    bad = db / "bad.csv"
    bad.write_text("when,what\n2023-01-03,1\n")
    assert main(["labels", "import", METER, str(bad)]) == 2
    assert "has no column" in capsys.readouterr().err
    assert main(["labels", "list", METER]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 7 and listed[0]["note"] == "drill"
    assert main(["labels", "export", METER, "--out", str(db / "out.csv")]) == 0
    assert (db / "out.csv").read_text().count("\n") == 8


def test_retrain_needs_labels_then_keeps_versions_and_rolls_back(db, series, capsys):
    """Without labels retrain says what is missing (exit 2); with them each run is a new version."""
    assert main(["retrain", METER]) == 2
    assert "needs 3 more confirmed" in capsys.readouterr().err
    file = db / "labels.csv"
    spans(series[0].index).to_csv(file, index=False)
    assert main(["labels", "import", METER, str(file)]) == 0
    assert main(["retrain", METER, "--note", "first"]) == 0
    first = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert first["version"] == 1 and first["current"] and first["labels_used"] == 6
    assert first["metrics"]["recall"] > 0.5 and "scikit-learn" in json.dumps(
        first["library_versions"]
    )
    assert main(["retrain", METER]) == 0
    assert main(["retrain", METER, "--rollback"]) == 0
    capsys.readouterr()
    assert main(["retrain", METER, "--versions"]) == 0
    versions = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["current"]) for v in versions] == [(2, False), (1, True)]


@pytest.mark.golden
def test_evaluate_with_train_labels_until_on_a_lead_slice(tmp_path, capsys, monkeypatch):
    """On a short real LEAD slice the learned detector trains on the labels before the date and the
    metrics cover only the readings after it."""
    from pathlib import Path

    import pandas as pd

    monkeypatch.setenv("WATTSUP_MODELS_DIR", str(tmp_path / "models"))
    src = Path(__file__).resolve().parents[3] / "shared" / "data" / "lead_dev" / "building_697.csv"
    raw = pd.read_csv(src)
    raw = raw[raw["timestamp"] < "2016-06-15"]
    file = tmp_path / "b697.csv"
    raw.to_csv(file, index=False)
    args = [
        "evaluate",
        str(file),
        "--label-col",
        "anomaly",
        "--detector",
        "ensemble",
        "--detector",
        "learned",
    ]
    assert main([*args, "--train-labels-until", "2016-04-01"]) == 0
    rows = {r["detector"]: r for r in json.loads(capsys.readouterr().out)}
    assert "note" not in rows["learned"]  # enough labels before April: a model was trained
    assert rows["learned"]["auc_roc"] > rows["learned"]["random_auc_roc"]
    assert main([*args, "--train-labels-until", "2030-01-01"]) == 2
    assert "outside the file" in capsys.readouterr().err


def test_import_a_data_files_label_column(db, series, capsys):
    """``labels import --label-col`` turns runs of 1 in a data file's column into real spans."""
    frame, injected = series
    file = db / "with_labels.csv"
    frame.assign(anomaly=injected).to_csv(file, index_label="timestamp")
    assert main(["labels", "import", METER, str(file), "--label-col", "anomaly"]) == 0
    assert json.loads(capsys.readouterr().out)["imported"] == 4
    assert main(["labels", "import", METER, str(file), "--label-col", "anomaly"]) == 0  # agreeing
    assert (
        main(
            [
                "labels",
                "add",
                METER,
                "--start",
                str(frame.index[702]),
                "--end",
                str(frame.index[703]),
                "--verdict",
                "not_anomaly",
            ]
        )
        == 2
    )
    assert "disagree" in capsys.readouterr().err
