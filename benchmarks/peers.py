"""Peers on the same series and protocol as ours: PyOD (IForest, ECOD, LOF, COPOD) and Merlion.

PyOD runs twice per series, each model with its documented defaults (``contamination=0.1``):

* on the same engineered features our feature detectors start from (``core.detect.features.feature_frame``;
  warm-up NaNs filled with the column median, then standard-scaled), and
* on raw sliding windows of the reading (one day of steps, at most 48; missing readings linearly
  interpolated for the window only), each window's score given to its last point.

Scores are ``decision_scores_`` (higher = more anomalous), flags are ``labels_``: PyOD's own default
threshold, which flags 10 % of the training points whatever the data. Points whose reading is missing
get no score and no flag (and carry no label, see ``benchmarks.quality``).

Merlion 2.0.4 pins ``numpy<2`` and an older SciPy, which cannot live beside WattsUp's pins, so its
``DefaultDetector`` runs in a separate virtual environment (``~/.cache/wattsup-bench/merlion-venv``,
built on first use with the pins in ``MERLION_PINS``) through ``benchmarks/merlion_runner.py``, with
the series exchanged as CSV files. Its RandomCutForest member needs Java (``java`` on PATH).
How it is trained and scored (in-sample, like ours) is described in ``merlion_runner.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
PYOD_MODELS = ("IForest", "ECOD", "LOF", "COPOD")
WINDOW_MAX = 48
MERLION_PINS = (
    "salesforce-merlion==2.0.4",
    "numpy==1.26.4",
    "pandas==2.2.3",
    "scipy==1.11.4",  # newer SciPy breaks Merlion's granularity inference on timedeltas
    "statsmodels==0.14.4",
    "scikit-learn==1.5.2",
)
MERLION_BUDGET_S = 900.0  # from its start; it runs beside our fits


def cache_dir() -> Path:
    root = Path(os.environ.get("WATTSUP_BENCH_CACHE", Path.home() / ".cache" / "wattsup-bench"))
    root.mkdir(parents=True, exist_ok=True)
    return root


# ---- PyOD ---------------------------------------------------------------------------------------
def pyod_model(name: str):
    """A PyOD model with its documented defaults (``contamination=0.1``)."""
    if name == "IForest":
        from pyod.models.iforest import IForest

        return IForest(random_state=0)  # seeded only, so reruns agree
    if name == "ECOD":
        from pyod.models.ecod import ECOD

        return ECOD()
    if name == "LOF":
        from pyod.models.lof import LOF

        return LOF()
    if name == "COPOD":
        from pyod.models.copod import COPOD

        return COPOD()
    raise ValueError(name)


def feature_matrix(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``feature_frame`` rows where the reading exists: warm-up NaNs -> column median, scaled."""
    from sklearn.preprocessing import StandardScaler

    from core.detect.features import feature_frame

    f = feature_frame(frame)
    ok = frame["value"].notna().to_numpy()
    x = f[ok]
    x = x.fillna(x.median()).fillna(0.0)
    x = x.loc[:, x.std() > 0]  # constant columns (no holidays, no temperature) carry nothing
    return StandardScaler().fit_transform(x.to_numpy(float)), ok


def window_matrix(frame: pd.DataFrame, freq: pd.Timedelta) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows of the raw reading (one day of steps, at most ``WINDOW_MAX``), scaled."""
    from numpy.lib.stride_tricks import sliding_window_view
    from sklearn.preprocessing import StandardScaler

    w = int(min(WINDOW_MAX, max(2, round(pd.Timedelta("1D") / freq))))
    v = frame["value"].interpolate(limit_direction="both").to_numpy(float)
    win = sliding_window_view(v, w)  # window i ends at point i + w - 1
    ok = np.zeros(len(v), dtype=bool)
    ok[w - 1 :] = True
    ok &= frame["value"].notna().to_numpy()
    rows = win[np.flatnonzero(ok) - (w - 1)]
    return StandardScaler().fit_transform(rows), ok


def _fit_pyod(name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    t0 = time.perf_counter()
    model = pyod_model(name).fit(x)
    return (
        np.asarray(model.decision_scores_, float),
        np.asarray(model.labels_, bool),
        time.perf_counter() - t0,
    )


def pyod_rows(series, log=print) -> list[dict]:
    """Every PyOD model on features and on windows, for every series."""
    from benchmarks.quality import metrics_row, skipped_row

    rows: list[dict] = []
    t_all = time.perf_counter()
    if pyod_version() == "not installed":
        log("  PyOD: not installed (pip install -r requirements-bench.txt); its rows say so")
        return [
            skipped_row(s, f"PyOD {name} ({kind})", f"PyOD {kind}", "not run: PyOD not installed")
            for s in series
            for kind in ("features", "windows")
            for name in PYOD_MODELS
        ]
    for s in series:
        inputs = {
            "features": lambda s=s: feature_matrix(s.frame),
            "windows": lambda s=s: window_matrix(s.frame, s.freq),
        }
        for kind, make in inputs.items():
            x, ok = make()
            for name in PYOD_MODELS:
                method = f"PyOD {name} ({kind})"
                try:
                    sc, fl, fit_s = _fit_pyod(name, x)
                except Exception as err:  # noqa: BLE001 - a failing peer is a row, not a crash
                    rows.append(skipped_row(s, method, f"PyOD {kind}", f"error: {err}"))
                    continue
                scores = np.full(len(ok), np.nan)
                flags = np.zeros(len(ok), dtype=bool)
                scores[ok], flags[ok] = sc, fl
                rows.append(metrics_row(s, method, f"PyOD {kind}", scores, flags, fit_s=fit_s))
    log(f"  PyOD: {len(rows)} runs in {time.perf_counter() - t_all:.0f} s")
    return rows


def pyod_version() -> str:
    try:
        from importlib.metadata import version

        return version("pyod")
    except Exception:  # noqa: BLE001
        return "not installed"


# ---- Merlion (separate virtual environment) -------------------------------------------------------
def merlion_python() -> Path:
    return cache_dir() / "merlion-venv" / "bin" / "python"


def ensure_merlion_venv(log=print) -> Path | None:
    """Build the Merlion venv on first use (pip, a few minutes); None if it cannot be built."""
    py = merlion_python()
    stamp = py.parent.parent / "wattsup-pins.txt"
    if py.exists() and stamp.exists() and stamp.read_text() == "\n".join(MERLION_PINS):
        return py
    if shutil.which("java") is None:
        log("  Merlion: no `java` on PATH (its RandomCutForest needs a JRE); skipped")
        return None
    log(f"  Merlion: building its own virtual environment in {py.parent.parent} (pip, once) ...")
    venv = py.parent.parent
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *MERLION_PINS],
            check=True,
        )
    except (subprocess.CalledProcessError, OSError) as err:
        log(f"  Merlion: could not build its venv ({err}); skipped")
        return None
    stamp.write_text("\n".join(MERLION_PINS))
    return py


class MerlionJob:
    """A running Merlion subprocess and where it writes."""

    def __init__(self, proc, workdir: Path, spec: dict, started: float, log_path: Path) -> None:
        self.proc, self.workdir, self.spec = proc, workdir, spec
        self.started, self.log_path = started, log_path


def start_merlion(series, workdir: Path, log=print) -> MerlionJob | None:
    """Write the series as CSV and start Merlion on them in the background."""
    py = ensure_merlion_venv(log)
    if py is None:
        return None
    workdir.mkdir(parents=True, exist_ok=True)
    items = []
    for s in series:
        slug = s.name.replace(" ", "_")
        csv = workdir / f"{slug}.csv"
        s.frame[["value"]].dropna().rename_axis("timestamp").to_csv(csv)
        items.append({"name": s.name, "csv": str(csv), "out": str(workdir / f"{slug}.out.csv")})
    spec = {"series": items, "result": str(workdir / "result.json")}
    (workdir / "spec.json").write_text(json.dumps(spec))
    (workdir / "result.json").unlink(missing_ok=True)
    log_path = workdir / "merlion.log"
    proc = subprocess.Popen(
        [str(py), str(REPO / "benchmarks" / "merlion_runner.py"), str(workdir / "spec.json")],
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log(f"  Merlion: started on {len(items)} series in the background (pid {proc.pid})")
    return MerlionJob(proc, workdir, spec, time.perf_counter(), log_path)


def collect_merlion(job: MerlionJob, series, log=print, budget_s: float = MERLION_BUDGET_S):
    """Wait for Merlion (up to ``budget_s`` from its start) and turn its outputs into rows."""
    from benchmarks.quality import metrics_row, skipped_row

    left = budget_s - (time.perf_counter() - job.started)
    try:
        job.proc.wait(timeout=max(1.0, left))
    except subprocess.TimeoutExpired:
        os.killpg(job.proc.pid, 9)
        job.proc.wait()
        log(f"  Merlion: over its {budget_s:.0f} s budget; unfinished series reported as such")
    info = {}
    result = job.workdir / "result.json"
    if result.exists():
        info = json.loads(result.read_text())
    else:  # killed: the runner prints one JSON line per finished series
        for line in job.log_path.read_text().splitlines():
            if line.startswith("{"):
                info.setdefault("series", {}).update(json.loads(line))
    rows = []
    for s, item in zip(series, job.spec["series"], strict=True):
        meta = info.get("series", {}).get(s.name)
        if meta is None:
            rows.append(skipped_row(s, "Merlion DefaultDetector", "Merlion", "over budget"))
            continue
        if "error" in meta:
            rows.append(skipped_row(s, "Merlion DefaultDetector", "Merlion", meta["error"]))
            continue
        out = pd.read_csv(item["out"], parse_dates=["timestamp"]).set_index("timestamp")
        out = out[~out.index.duplicated()].reindex(s.frame.index)
        flags = out["alarm"].fillna(0).to_numpy() > 0
        rows.append(
            metrics_row(
                s,
                "Merlion DefaultDetector",
                "Merlion",
                out["score"].to_numpy(float),
                flags,
                fit_s=meta.get("fit_s"),
            )
        )
    took = time.perf_counter() - job.started
    log(f"  Merlion: {sum(r['status'] == 'ok' for r in rows)}/{len(rows)} series, {took:.0f} s")
    return rows


def merlion_version() -> str:
    py = merlion_python()
    if not py.exists():
        return "not installed"
    try:
        out = subprocess.run(
            [
                str(py),
                "-c",
                "from importlib.metadata import version as v; print(v('salesforce-merlion'))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
