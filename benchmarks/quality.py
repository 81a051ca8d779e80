"""Detection quality on every labelled real series in ``../shared/data``: ours and peers, one protocol.

Protocol (the same for every method): load the file as an upload would arrive (``core.ingest.data.parse_upload``),
drop the label column, fit unsupervised on the whole series, score the whole series, flag at the
method's own default threshold, then compare with the labels (``core.detect.evaluation.evaluate``: point-wise
and event-wise, with a random baseline that flags as many points). Labels are never used to fit or to
pick a threshold. A point whose reading is missing carries no label (NaN), so no method is judged on
a point it could not see.

Each WattsUp detector runs in its own subprocess with a time budget (two at a time, Merlion beside
them), so a slow model cannot hang the run; series it did not reach are reported as "over budget".
The fit seconds in the tables were measured under that contention: indicative, not a speed result.

``python -m benchmarks.quality --worker DETECTOR[,DETECTOR...] --out rows.jsonl [--smoke]`` is that
subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("WATTSUP_SHARED_DATA", REPO.parent / "shared" / "data"))
LEAD_DIR = DATA / "lead_dev"
NAB_DIR = DATA / "nab_real_known_cause"
SMOKE_POINTS = 24 * 21  # three weeks of hourly data: enough for a weekly profile, fast

OURS_FAMILY = "WattsUp"


@dataclass
class LabelledSeries:
    """One labelled real series: the canonical frame without labels, and the labels beside it."""

    name: str
    group: str  # "LEAD" or "NAB"
    frame: pd.DataFrame
    labels: pd.Series
    freq: pd.Timedelta

    @property
    def n_events(self) -> int:
        from core.detect.evaluation import runs

        y = self.labels.dropna().to_numpy() > 0.5
        return int(len(runs(y)[0]))


def load_series(smoke: bool = False) -> list[LabelledSeries]:
    """The 4 LEAD buildings and the 7 NAB realKnownCause series, parsed as uploads.

    With ``smoke`` only one LEAD building and one NAB series, each cut to a few weeks.
    """
    from core.detect.evaluation import labels_from_windows
    from core.ingest.data import Schema, parse_upload

    out: list[LabelledSeries] = []
    lead = sorted(LEAD_DIR.glob("building_*.csv"))
    for path in lead[:1] if smoke else lead:
        ds = parse_upload(
            path.read_bytes(), path.name, Schema(value_col="meter_reading", label_col="anomaly")
        )
        labels = ds.frame["label"].where(ds.frame["value"].notna())
        out.append(
            LabelledSeries(
                f"LEAD {path.stem.split('_')[-1]}",
                "LEAD",
                ds.frame.drop(columns="label"),
                labels,
                ds.freq,
            )
        )
    windows = json.loads((NAB_DIR / "windows.json").read_text())
    nab = sorted(NAB_DIR.glob("*.csv"), key=lambda p: p.stat().st_size)
    for path in nab[:1] if smoke else nab:
        ds = parse_upload(path.read_bytes(), path.name)
        frame = ds.frame.drop(columns=[c for c in ("label",) if c in ds.frame.columns])
        labels = labels_from_windows(frame.index, windows.get(path.name, []))
        labels = labels.where(frame["value"].notna())
        out.append(LabelledSeries(path.stem, "NAB", frame, labels, ds.freq))
    if smoke:
        for s in out:
            # keep the first labelled event inside the cut so every metric is defined
            first = np.flatnonzero(s.labels.fillna(0).to_numpy() > 0)
            end = max(SMOKE_POINTS, int(first[0]) + 48 if first.size else 0)
            s.frame, s.labels = s.frame.iloc[:end], s.labels.iloc[:end]
    return out


# ---- ours ---------------------------------------------------------------------------------------
def our_flags(detector, frame: pd.DataFrame, calibrated: pd.Series) -> pd.Series:
    """Flags at the app's default settings, from the one detection run the app uses
    (``core.detect.run.run_detection`` with the already fitted ``detector``)."""
    from core.detect.pipeline import DetectorSettings
    from core.detect.run import run_detection

    found = run_detection(
        frame,
        DetectorSettings(detector.name),
        freq=pd.Timedelta(frame.index[1] - frame.index[0]),
        unit="kWh",
        detector=detector,
    )
    return found.flags.reindex(frame.index).fillna(False)


def score_ours(name: str, frame: pd.DataFrame) -> tuple[pd.Series, pd.Series, float, float]:
    """Fit detector ``name`` with its defaults on ``frame``; calibrated scores, flags, fit/score s."""
    from core.detect.detectors import REGISTRY

    t0 = time.perf_counter()
    det = REGISTRY[name]().fit(frame)
    t1 = time.perf_counter()
    cal = det.calibrated(frame)
    flags = our_flags(det, frame, cal)
    return cal, flags, t1 - t0, time.perf_counter() - t1


def metrics_row(
    series: LabelledSeries, method: str, family: str, scores, flags, **extra
) -> dict[str, object]:
    """One result row: who, on what, and every metric of ``core.detect.evaluation.evaluate``."""
    from core.detect.evaluation import evaluate

    s = pd.Series(np.asarray(scores, dtype=float), index=series.frame.index)
    f = pd.Series(np.asarray(flags, dtype=bool), index=series.frame.index)
    m = evaluate(series.labels, s, f, seed=0)
    row: dict[str, object] = {
        "dataset": series.name,
        "group": series.group,
        "method": method,
        "family": family,
        "n": int(series.labels.notna().sum()),
        "n_events": series.n_events,
        "positives": float(series.labels.mean()),
        "flag_rate": float(f[series.labels.notna()].mean()),
        "status": "ok",
    }
    row.update({k: (None if v is None or not np.isfinite(v) else float(v)) for k, v in m.items()})
    row.update(extra)
    return row


def skipped_row(series: LabelledSeries, method: str, family: str, status: str) -> dict[str, object]:
    return {
        "dataset": series.name,
        "group": series.group,
        "method": method,
        "family": family,
        "status": status,
    }


def our_detector_names(smoke: bool) -> list[str]:
    from core.detect.detectors import REGISTRY

    if smoke:
        return [n for n in ("rolling_z", "isolation_forest", "ensemble") if n in REGISTRY]
    names = sorted(REGISTRY)
    return ["ensemble"] + [n for n in names if n != "ensemble"]


def _worker(detectors: list[str], out: Path, smoke: bool) -> int:
    from core.quiet import quiet_libraries

    quiet_libraries()
    series = load_series(smoke)
    with out.open("a") as fh:
        for name in detectors:
            for s in series:
                try:
                    cal, flags, fit_s, score_s = score_ours(name, s.frame)
                    row = metrics_row(
                        s, name, OURS_FAMILY, cal, flags, fit_s=fit_s, score_s=score_s
                    )
                except Exception as err:  # noqa: BLE001 - one failure is a row, not a crash
                    row = skipped_row(s, name, OURS_FAMILY, f"error: {type(err).__name__}: {err}")
                fh.write(json.dumps(row) + "\n")
                fh.flush()
    return 0


# ---- the whole quality benchmark ------------------------------------------------------------------
def run(
    smoke: bool = False,
    budget_s: float = 600.0,
    workdir: Path | None = None,
    log=print,
    jobs_at_once: int = 2,
) -> list[dict]:
    """Every WattsUp detector and every peer on every labelled series; one row per (method, series)."""
    from benchmarks import peers
    from benchmarks.scaling import run_subprocess

    workdir = Path(workdir or peers.cache_dir() / "quality")
    workdir.mkdir(parents=True, exist_ok=True)
    series = load_series(smoke)
    log(
        f"quality: {len(series)} labelled series "
        f"({sum(len(s.frame) for s in series):,} points in all)"
    )
    merlion = None if smoke else peers.start_merlion(series, workdir / "merlion", log=log)

    names = our_detector_names(smoke)
    # one subprocess per detector, each with its own budget, two at a time (the slow neural and
    # Prophet fits first); the smoke run uses one subprocess for all, to stay fast
    slow_first = sorted(names, key=lambda n: (n not in ("lstm", "prophet"), names.index(n)))
    jobs = [",".join(names)] if smoke else slow_first

    def one(name: str) -> list[dict]:
        out = workdir / f"ours_{name.replace(',', '_')}.jsonl"
        out.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "benchmarks.quality", "--worker", name, "--out", str(out)]
        if smoke:
            cmd.append("--smoke")
        res = run_subprocess(cmd, timeout_s=budget_s, cwd=REPO)
        got = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
        for det in name.split(","):
            done = {r["dataset"] for r in got if r["method"] == det}
            for s in series:
                if s.name not in done:
                    why = (
                        f"over budget ({budget_s:.0f} s for all series)"
                        if res.timed_out
                        else f"worker failed (rc {res.returncode}): {res.tail[-200:]}"
                    )
                    got.append(skipped_row(s, det, OURS_FAMILY, why))
        ok = [r for r in got if r.get("status") == "ok"]
        log(f"  {name}: {len(ok)}/{len(got)} series runs in {res.elapsed_s:.0f} s")
        return got

    with ThreadPoolExecutor(max_workers=jobs_at_once) as pool:
        tasks = [lambda job=job: one(job) for job in jobs]
        # PyOD runs in this process, queued right behind the slow fits so it overlaps them
        tasks.insert(min(2, len(tasks)), lambda: peers.pyod_rows(series, log=log))
        futures = [pool.submit(task) for task in tasks]
        rows: list[dict] = [r for f in futures for r in f.result()]

    if merlion is not None:
        rows.extend(peers.collect_merlion(merlion, series, log=log))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.quality")
    p.add_argument("--worker", required=True, help="comma-separated detector names")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--smoke", action="store_true")
    a = p.parse_args(argv)
    return _worker(a.worker.split(","), a.out, a.smoke)


if __name__ == "__main__":
    sys.exit(main())


# ---- tables --------------------------------------------------------------------------------------
SUMMARY_COLS = (
    ("auc_roc", "AUC-ROC"),
    ("auc_pr", "AUC-PR"),
    ("precision", "P"),
    ("recall", "R"),
    ("f1", "F1"),
    ("random_f1", "F1 rnd"),
    ("event_precision", "ev P"),
    ("event_recall", "ev R"),
    ("event_f1", "ev F1"),
    ("random_event_f1", "ev F1 rnd"),
    ("mean_delay_steps", "delay"),
    ("flag_rate", "flag %"),
    ("fit_s", "fit s"),
)
DATASET_COLS = (
    ("auc_roc", "AUC-ROC"),
    ("auc_pr", "AUC-PR"),
    ("f1", "F1"),
    ("random_f1", "F1 rnd"),
    ("event_f1", "ev F1"),
    ("random_event_f1", "ev F1 rnd"),
    ("mean_delay_steps", "delay"),
    ("flag_rate", "flag %"),
)


def method_order(rows: list[dict]) -> list[str]:
    fam_rank = {OURS_FAMILY: 0, "PyOD features": 1, "PyOD windows": 2, "Merlion": 3}
    seen = dict.fromkeys(r["method"] for r in rows)
    fam = {r["method"]: r["family"] for r in rows}
    ours = [m for m in seen if fam[m] == OURS_FAMILY]
    first = ["ensemble"] if "ensemble" in ours else []
    return first + sorted(
        (m for m in seen if m not in first), key=lambda m: (fam_rank.get(fam[m], 9), m)
    )


def _fmt(key: str, v) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    if key == "flag_rate":
        return f"{100 * v:.1f}"
    if key in ("mean_delay_steps", "fit_s"):
        return f"{v:.1f}"
    return f"{v:.3f}"


def means(rows: list[dict], group: str) -> list[dict]:
    """Per method: the mean of each metric over the group's series it ran on."""
    out = []
    g = [r for r in rows if r["group"] == group]
    n_series = len({r["dataset"] for r in g})
    for m in method_order(g):
        mine = [r for r in g if r["method"] == m]
        ok = [r for r in mine if r.get("status") == "ok"]
        row = {"method": m, "family": mine[0]["family"], "ok": len(ok), "of": n_series}
        for key, _ in SUMMARY_COLS + (("random_auc_roc", ""), ("random_auc_pr", "")):
            vals = [r.get(key) for r in ok if r.get(key) is not None]
            row[key] = float(np.mean(vals)) if vals else None
        out.append(row)
    return out


def summary_table(rows: list[dict], group: str) -> str:
    ms = means(rows, group)
    head = "| method | family | series | " + " | ".join(h for _, h in SUMMARY_COLS) + " |"
    lines = [head, "|" + "---|" * (3 + len(SUMMARY_COLS))]
    for r in ms:
        name = f"**{r['method']}**" if r["method"] == "ensemble" else r["method"]
        cells = [_fmt(k, r[k]) for k, _ in SUMMARY_COLS]
        lines.append(
            f"| {name} | {r['family']} | {r['ok']}/{r['of']} | " + " | ".join(cells) + " |"
        )
    rnd = [r for r in ms if r.get("random_auc_roc") is not None]
    if rnd:
        cells = [_fmt("auc_roc", rnd[0]["random_auc_roc"]), _fmt("auc_pr", rnd[0]["random_auc_pr"])]
        cells += ["–"] * (len(SUMMARY_COLS) - 2)
        lines.append("| random scores | baseline | | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def dataset_tables(rows: list[dict]) -> str:
    parts = []
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        g = [r for r in rows if r["dataset"] == ds]
        ok = [r for r in g if r.get("status") == "ok"]
        info = ok[0] if ok else g[0]
        parts.append(
            f"#### {ds} ({info.get('group')}: {info.get('n', '?'):,} labelled points, "
            f"{info.get('n_events', '?')} events, {100 * info.get('positives', float('nan')):.1f} % "
            "positive)\n"
            if ok
            else f"#### {ds}\n"
        )
        head = "| method | " + " | ".join(h for _, h in DATASET_COLS) + " |"
        lines = [head, "|" + "---|" * (1 + len(DATASET_COLS))]
        for m in method_order(g):
            r = next(x for x in g if x["method"] == m)
            if r.get("status") != "ok":
                lines.append(f"| {m} | {r['status'][:120]} |" + " |" * (len(DATASET_COLS) - 1))
                continue
            lines.append(
                f"| {m} | " + " | ".join(_fmt(k, r.get(k)) for k, _ in DATASET_COLS) + " |"
            )
        if ok:
            lines.append(
                "| random scores | "
                + " | ".join(
                    [
                        _fmt("auc_roc", ok[0].get("random_auc_roc")),
                        _fmt("auc_pr", ok[0].get("random_auc_pr")),
                    ]
                    + ["–"] * (len(DATASET_COLS) - 2)
                )
                + " |"
            )
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


FLAG_METRICS = {"f1", "event_f1", "event_recall"}


def peers_beat_us(rows: list[dict]) -> list[str]:
    """Plain sentences: where a peer's mean beats the default ensemble's and our best detector's."""
    out = []
    for group in dict.fromkeys(r["group"] for r in rows):
        ms = means(rows, group)
        ours = [m for m in ms if m["family"] == OURS_FAMILY and m["ok"]]
        peers = [m for m in ms if m["family"] != OURS_FAMILY and m["ok"]]
        ens = next((m for m in ours if m["method"] == "ensemble"), None)
        for key, label in (
            ("auc_roc", "AUC-ROC"),
            ("auc_pr", "AUC-PR"),
            ("f1", "point F1"),
            ("event_f1", "event F1"),
            ("event_recall", "event recall"),
        ):
            best_peer = max(peers, key=lambda m: m[key] or -1, default=None)
            best_ours = max(ours, key=lambda m: m[key] or -1, default=None)
            if best_peer is None or best_ours is None or best_peer[key] is None:
                continue
            e = ens[key] if ens and ens[key] is not None else float("nan")
            b = best_ours[key] or 0.0
            fr = (
                f" (it flags {100 * best_peer['flag_rate']:.1f} % of points, the ensemble "
                f"{100 * (ens['flag_rate'] or 0):.1f} %)"
                if key in FLAG_METRICS and ens and best_peer["flag_rate"] is not None
                else ""
            )
            if best_peer[key] > b:
                out.append(
                    f"{group}, {label}: {best_peer['method']} {best_peer[key]:.3f} beats every "
                    f"WattsUp detector (best {best_ours['method']} {b:.3f}; ensemble {e:.3f}){fr}."
                )
            elif best_peer[key] > e:
                out.append(
                    f"{group}, {label}: {best_peer['method']} {best_peer[key]:.3f} beats the default "
                    f"ensemble ({e:.3f}) but not our best ({best_ours['method']} {b:.3f}){fr}."
                )
        if ens and ens.get("fit_s") is not None:
            fast = [m for m in peers if m.get("fit_s") is not None and m["fit_s"] < ens["fit_s"]]
            if fast:
                names = ", ".join(
                    f"{m['method']} {m['fit_s']:.2f} s"
                    for m in sorted(fast, key=lambda m: m["fit_s"])[:4]
                )
                out.append(
                    f"{group}, fit time: {len(fast)} peer methods fit faster than the ensemble "
                    f"({ens['fit_s']:.2f} s per series on average), e.g. {names}."
                )
    return out
