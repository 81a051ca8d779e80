"""The model cache: limits from the environment, trim by age then size, quarantine, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

import core.detect.pipeline as pipeline
from core.__main__ import main
from core.detect.detectors import REGISTRY, Detector
from core.detect.pipeline import DetectorSettings, fit_detector, model_dir
from core.errors import DataError
from core.store.model_cache import (
    DAY_S,
    MB,
    CacheLimits,
    cache_entries,
    mark_used,
    quarantine,
    trim,
)
from tests.conftest import REPO, synthetic_frame

NOW = 1_700_000_000.0


def put(root, rel, *, kb=100, days_ago=0.0, now=NOW):
    """A fake cache folder ``root/rel`` holding ``kb`` KiB, last used ``days_ago`` before ``now``."""
    folder = root / rel
    folder.mkdir(parents=True)
    (folder / "arrays.npz").write_bytes(b"x" * kb * 1024)
    stamp = now - days_ago * DAY_S
    os.utime(folder, (stamp, stamp))
    return folder


def names(root):
    return sorted(str(e.path.relative_to(root)) for e in cache_entries(root))


class MeanDetector(Detector):
    """Scores |value - mean|."""

    name = "test_cache_mean"
    title = "Mean"

    def __init__(self, shift: float = 0.0):
        self.shift = shift

    def _fit(self, frame, progress=None):
        self.mean_ = float(frame["value"].mean())

    def _score(self, frame):
        return np.abs(frame["value"].to_numpy() - self.mean_ - self.shift)


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(REGISTRY, MeanDetector.name, MeanDetector)


@pytest.fixture(scope="module")
def frame():
    return synthetic_frame(n_days=7)


def test_limits_come_from_the_environment():
    """Defaults when unset or empty; numbers are read; 'off' switches a limit off."""
    assert CacheLimits.from_env({}) == CacheLimits(500.0, 30.0)
    assert CacheLimits.from_env({"WATTSUP_MODELS_MAX_MB": " "}).max_mb == 500.0
    env = {"WATTSUP_MODELS_MAX_MB": "64", "WATTSUP_MODELS_MAX_AGE_DAYS": "off"}
    assert CacheLimits.from_env(env) == CacheLimits(max_mb=64.0, max_age_days=None)


@pytest.mark.parametrize("text", ["-1", "lots", "nan", "inf"])
def test_bad_limit_settings_name_the_variable(text):
    """A setting that is not a number >= 0 is a DataError that names the variable."""
    with pytest.raises(DataError, match="WATTSUP_MODELS_MAX_AGE_DAYS"):
        CacheLimits.from_env({"WATTSUP_MODELS_MAX_AGE_DAYS": text})
    with pytest.raises(DataError, match="max_mb"):
        CacheLimits(max_mb=-1)


def test_trim_removes_expired_then_least_recently_used(tmp_path):
    """Folders past max_age go first, then the least recently used until the total fits max_mb."""
    put(tmp_path, "aaaa/lof-1", days_ago=40)
    put(tmp_path, "aaaa/lof-2", days_ago=5)
    put(tmp_path, "bbbb/ocsvm-1", days_ago=3)
    put(tmp_path, "bbbb/ocsvm-2", days_ago=1)
    limits = CacheLimits(max_mb=250 / 1024, max_age_days=30)  # room for two 100 KiB folders
    removed = trim(tmp_path, limits, now=NOW)
    assert [str(e.path.relative_to(tmp_path)) for e in removed] == ["aaaa/lof-1", "aaaa/lof-2"]
    assert names(tmp_path) == ["bbbb/ocsvm-1", "bbbb/ocsvm-2"]
    assert not (tmp_path / "aaaa").exists()  # the emptied digest folder goes too


def test_trim_keeps_the_model_just_saved_and_saves_in_progress(tmp_path):
    """With room for nothing, the kept folder and a young partial save stay; an old partial goes."""
    kept = put(tmp_path, "aaaa/lof-1", days_ago=0)
    put(tmp_path, "aaaa/.lof-2.tmp-0001", days_ago=0.01)
    put(tmp_path, "aaaa/.lof-3.tmp-0002", days_ago=1)
    put(tmp_path, "bbbb/lof-4", days_ago=0)
    trim(tmp_path, CacheLimits(max_mb=0, max_age_days=None), keep=kept, now=NOW)
    assert names(tmp_path) == ["aaaa/.lof-2.tmp-0001", "aaaa/lof-1"]


def test_a_loaded_model_is_evicted_last(tmp_path):
    """mark_used makes an old folder the most recently used, so the other one is evicted first."""
    old = put(tmp_path, "aaaa/lof-1", days_ago=2, now=time.time())
    put(tmp_path, "bbbb/lof-2", days_ago=1, now=time.time())
    mark_used(old)
    trim(tmp_path, CacheLimits(max_mb=150 / 1024, max_age_days=None))
    assert names(tmp_path) == ["aaaa/lof-1"]


def test_quarantine_moves_a_folder_out_of_the_lookup_path(tmp_path):
    """A quarantined folder leaves <digest>/<name>, is listed as quarantined, and expires later."""
    folder = put(tmp_path, "aaaa/isolation_forest-1", days_ago=10)
    aside = quarantine(folder, tmp_path)
    assert aside is not None and aside.is_dir() and not folder.exists()
    (entry,) = cache_entries(tmp_path)
    assert (entry.state, entry.detector, entry.path) == ("quarantined", "isolation_forest", aside)
    assert trim(tmp_path, CacheLimits(max_mb=None, max_age_days=30)) == []  # aged from now
    assert len(trim(tmp_path, CacheLimits(max_age_days=30), now=time.time() + 31 * DAY_S)) == 1
    assert cache_entries(tmp_path) == []


def test_fit_detector_trims_the_cache_after_each_save(registered, frame, tmp_path, monkeypatch):
    """After a save, older folders beyond WATTSUP_MODELS_MAX_MB are removed; the new one stays."""
    monkeypatch.setenv("WATTSUP_MODELS_MAX_MB", "0")
    settings = DetectorSettings.of(MeanDetector.name)
    put(tmp_path, "cccc/lof-1", days_ago=1, now=time.time())
    fit_detector(frame, "a" * 64, settings, root=tmp_path, pretrained=None)
    assert names(tmp_path) == [str(model_dir("a" * 64, settings, tmp_path).relative_to(tmp_path))]
    fit_detector(frame, "b" * 64, settings, root=tmp_path, pretrained=None)
    assert names(tmp_path) == [str(model_dir("b" * 64, settings, tmp_path).relative_to(tmp_path))]


def test_a_bad_limit_setting_warns_and_keeps_the_fit(registered, frame, tmp_path, monkeypatch):
    """A bad WATTSUP_MODELS_MAX_MB never breaks a fit: the model is saved and one warning says why."""
    monkeypatch.setenv("WATTSUP_MODELS_MAX_MB", "lots")
    settings = DetectorSettings.of(MeanDetector.name)
    with pytest.warns(RuntimeWarning, match="not trimmed: WATTSUP_MODELS_MAX_MB"):
        det = fit_detector(frame, "a" * 64, settings, root=tmp_path, pretrained=None)
    assert det.is_fitted and model_dir("a" * 64, settings, tmp_path).is_dir()


def test_the_pretrained_folder_is_never_trimmed(registered, frame, tmp_path, monkeypatch):
    """Saving into the pretrained folder (scripts/pretrain.py) removes none of its other models."""
    pre = tmp_path / "pretrained"
    monkeypatch.setattr(pipeline, "PRETRAINED_DIR", pre)
    monkeypatch.setenv("WATTSUP_MODELS_MAX_MB", "0")
    put(pre, "cccc/lof-1", days_ago=400, now=time.time())
    fit_detector(frame, "a" * 64, DetectorSettings.of(MeanDetector.name), root=pre, pretrained=None)
    assert "cccc/lof-1" in names(pre) and len(names(pre)) == 2


# ---- python -m core models ----------------------------------------------------------------------
def test_models_list_prints_every_folder_and_the_total(tmp_path, capsys, monkeypatch):
    """list shows one line per folder (state, detector, folder), then the count, size and limits."""
    monkeypatch.delenv("WATTSUP_MODELS_MAX_MB", raising=False)
    monkeypatch.setenv("WATTSUP_MODELS_MAX_AGE_DAYS", "off")
    put(tmp_path, "aaaa/lof-1", kb=1024, days_ago=2, now=time.time())
    quarantine(put(tmp_path, "bbbb/ocsvm-2", kb=512, days_ago=1), tmp_path)
    assert main(["models", "list", "--dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["last", "used", "size", "state", "detector", "folder"]
    assert lines[1].split()[2:] == ["1.0", "MB", "model", "lof", "aaaa/lof-1"]
    assert lines[2].split()[2:6] == ["0.5", "MB", "quarantined", "ocsvm"]
    assert lines[3] == f"2 folder(s), 1.5 MB in {tmp_path} (limit 500 MB, no age limit)"


def test_models_list_of_an_empty_cache(tmp_path, capsys):
    """A cache folder that does not exist yet is an empty cache, not an error."""
    assert main(["models", "list", "--dir", str(tmp_path / "none")]) == 0
    assert capsys.readouterr().out == f"no saved models in {tmp_path / 'none'}\n"


def test_models_prune_by_age_then_size(tmp_path, capsys):
    """--older-than removes folders unused for that long; --max-mb 0 then empties the cache."""
    put(tmp_path, "aaaa/lof-1", days_ago=10, now=time.time())
    put(tmp_path, "bbbb/lof-2", days_ago=1, now=time.time())
    assert main(["models", "prune", "--older-than", "7", "--dir", str(tmp_path)]) == 0
    assert names(tmp_path) == ["bbbb/lof-2"]
    assert "removed 1 folder(s), 0.1 MB; 1 left" in capsys.readouterr().out
    assert main(["models", "prune", "--max-mb", "0", "--dir", str(tmp_path)]) == 0
    assert cache_entries(tmp_path) == []


def test_models_prune_without_options_applies_the_settings(tmp_path, monkeypatch):
    """Plain prune uses WATTSUP_MODELS_MAX_MB / WATTSUP_MODELS_MAX_AGE_DAYS."""
    monkeypatch.setenv("WATTSUP_MODELS_MAX_AGE_DAYS", "3")
    monkeypatch.setenv("WATTSUP_MODELS_MAX_MB", "off")
    put(tmp_path, "aaaa/lof-1", days_ago=5, now=time.time())
    put(tmp_path, "bbbb/lof-2", days_ago=1, now=time.time())
    assert main(["models", "prune", "--dir", str(tmp_path)]) == 0
    assert names(tmp_path) == ["bbbb/lof-2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["prune", "--older-than", "soon"], "--older-than takes a number >= 0, got 'soon'"),
        (["prune", "--max-mb", "-5"], "--max-mb takes a number >= 0, got '-5'"),
        (["list", "--dir", "{file}"], "is a file"),
        (["prune", "--dir", str(REPO / "models" / "pretrained")], "committed pretrained models"),
    ],
)
def test_models_bad_input_is_one_line_and_exit_2(args, message, tmp_path, capsys):
    """Bad input prints one 'error:' line on stderr and returns 2; nothing is removed."""
    file = tmp_path / "plain.txt"
    file.write_text("x")
    put(tmp_path, "aaaa/lof-1", days_ago=100, now=time.time())
    assert main(["models", *[a.format(file=file) for a in args]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert names(tmp_path) == ["aaaa/lof-1"]


def test_python_m_core_models_uses_the_app_cache(tmp_path):
    """The command is found by ``python -m core`` and reads WATTSUP_MODELS_DIR like the app does."""
    put(tmp_path, "aaaa/lof-1", kb=MB // 1024, now=time.time())
    env = {**os.environ, "WATTSUP_MODELS_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "core", "models", "list"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "aaaa/lof-1" in run.stdout and f"1 folder(s), 1.0 MB in {tmp_path}" in run.stdout
