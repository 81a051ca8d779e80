"""Fit and score time against series length, per detector, and peak memory of the largest case.

Sizes: 1k, 10k, 100k and 350k points. The series is real: the Politecnico di Torino building
(``polito_building_2019``, 35,040 points at 15 min with outdoor temperature) tiled ten times with its
timestamps shifted by one year per copy (350,400 points, "10 years of 15-minute data"); a size n is
the first n points of that. Tiling repeats the same year, so it measures cost, not accuracy.

Every case runs in a subprocess so that a case over its time budget is killed and reported as
skipped instead of hanging the run; the 100k and 350k cases each get their own, so their peak RSS
(the child's own ``VmHWM``, read inside it; 1k and 10k share one process) is their own. Prophet's
Stan sampler runs as a separate executable whose memory is not included. A case is also skipped without running when even a
linear extrapolation of the previous size would exceed the budget (a lower bound for superlinear
costs). Slopes are least-squares fits of log(time) on log(n) over the sizes from 10k up (at 1k the
fixed costs dominate); scoring should stay linear (slope <= 1.1).

``python -m benchmarks.scaling --case DETECTOR N[,N...] OUT.json`` is one subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("WATTSUP_SHARED_DATA", REPO.parent / "shared" / "data"))
POLITO = DATA / "polito_building_2019" / "building_load_temp.csv"
SIZES = (1_000, 10_000, 100_000, 350_000)
SMOKE_SIZES = (1_000, 2_000)
SCORE_SLOPE_TARGET = 1.1


# ---- subprocess with a time limit and its own peak RSS --------------------------------------------
@dataclass
class ProcResult:
    returncode: int | None
    timed_out: bool
    elapsed_s: float
    peak_rss_mb: float
    tail: str


def run_subprocess(
    cmd: list[str], timeout_s: float, cwd: Path | None = None, env: dict | None = None
) -> ProcResult:
    """Run ``cmd``; kill its process group after ``timeout_s``. Peak RSS is this child's own."""
    with tempfile.TemporaryFile(mode="w+") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out, status, usage = False, None, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout_s:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        tail = log.read()[-2000:]
    return ProcResult(proc.returncode, timed_out, elapsed, usage.ru_maxrss / 1024.0, tail)


# ---- data ---------------------------------------------------------------------------------------
def tiled_polito(n: int) -> pd.DataFrame:
    """The first ``n`` points of the Polito year tiled with one-year timestamp shifts."""
    raw = pd.read_csv(POLITO, parse_dates=["timestamp"])
    year = pd.DataFrame(
        {"value": raw["Total_Power"].astype(float), "temperature": raw["temp"].astype(float)}
    )
    year.index = pd.DatetimeIndex(raw["timestamp"])
    span = len(year) * pd.Timedelta("15min")  # 365 days: copies join on the 15-minute grid
    copies = []
    k = 0
    while sum(len(c) for c in copies) < n:
        c = year.copy()
        c.index = year.index + k * span
        copies.append(c)
        k += 1
    frame = pd.concat(copies).iloc[:n]
    frame.index = pd.DatetimeIndex(frame.index, freq="15min", name="timestamp")
    return frame


def _case(detector: str, sizes: list[int], out: Path) -> int:
    """Fit and score ``detector`` on each size in turn; the JSON list grows after every size."""
    from core.quiet import quiet_libraries

    quiet_libraries()
    t_import = time.perf_counter()
    from core.detect.detectors import REGISTRY

    import_s = time.perf_counter() - t_import
    results: list[dict] = []
    for n in sizes:
        frame = tiled_polito(max(n, 1_000))
        result: dict[str, object] = {"detector": detector, "n": n, "import_s": import_s}
        if n:
            det = REGISTRY[detector]()
            t0 = time.perf_counter()
            det.fit(frame)
            t1 = time.perf_counter()
            det.score(frame)
            t2 = time.perf_counter()
            result.update(fit_s=t1 - t0, score_s=t2 - t1)
        result["vm_hwm_mb"] = vm_hwm_mb()
        results.append(result)
        out.write_text(json.dumps(results))
    return 0


def vm_hwm_mb() -> float | None:
    """This process's own peak RSS (``VmHWM``). ``ru_maxrss`` is no good here: Linux carries the
    parent's high-water mark over fork + exec, so every child of a big parent looked as big."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return None


def run_case(detector: str, sizes: list[int], budget_s: float) -> list[dict[str, object]]:
    """One subprocess for ``sizes`` (in order); a size it did not reach in time is skipped."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "case.json"
        arg = ",".join(map(str, sizes))
        cmd = [sys.executable, "-m", "benchmarks.scaling", "--case", detector, arg, str(out)]
        limit = budget_s * max(1, len(sizes))  # the budget is per size
        res = run_subprocess(cmd, timeout_s=limit, cwd=REPO)
        got = json.loads(out.read_text()) if out.exists() else []
    rows = []
    for n in sizes:
        row: dict[str, object] = {
            "detector": detector,
            "n": n,
            "peak_rss_mb": res.peak_rss_mb,
            "wall_s": res.elapsed_s,
            "sizes_in_process": arg,
        }
        done = next((g for g in got if g["n"] == n), None)
        if done is not None:
            row.update(done)
            row["status"] = "ok"
        elif res.timed_out:
            row["status"] = f"skipped (over {limit:.0f} s for sizes {arg})"
        else:
            row["status"] = f"error (rc {res.returncode}): {res.tail.strip().splitlines()[-1:]}"
        rows.append(row)
    return rows


def rss_of(row: dict) -> float | None:
    """The case's own peak RSS: ``VmHWM`` from inside the child when recorded."""
    return row.get("vm_hwm_mb", row.get("peak_rss_mb"))


def slope(ns: list[int], ts: list[float]) -> float | None:
    """Least-squares slope of log(t) on log(n) over the sizes >= 10k (all sizes if fewer than 2)."""
    pts = [(n, t) for n, t in zip(ns, ts, strict=True) if t and t > 0]
    big = [(n, t) for n, t in pts if n >= 10_000]
    use = big if len(big) >= 2 else pts
    if len(use) < 2:
        return None
    x = np.log([n for n, _ in use])
    y = np.log([t for _, t in use])
    return float(np.polyfit(x, y, 1)[0])


def run(smoke: bool = False, budget_s: float = 240.0, detectors=None, log=print) -> list[dict]:
    """Every detector at every size (within the budget), plus one import-only baseline for RSS."""
    from core.detect.detectors import REGISTRY

    sizes = SMOKE_SIZES if smoke else SIZES
    names = detectors or (
        ["rolling_z"] if smoke else ["ensemble", *sorted(set(REGISTRY) - {"ensemble"})]
    )
    rows: list[dict] = []
    if not smoke:  # the smoke run keeps to a minute
        base = run_case(names[0], [0], budget_s)[0]
        base.update(detector="(imports only)", status="baseline")
        rows.append(base)
        log(f"scaling: import-only baseline peak RSS {base['peak_rss_mb']:.0f} MB")
    # sizes under 100k share one process (saves start-up time); each larger size gets its own, so
    # its peak RSS is its own
    batches = [[n for n in sizes if n < 100_000]] + [[n] for n in sizes if n >= 100_000]
    for name in names:
        prev: tuple[int, float] | None = None
        for batch in (b for b in batches if b):
            n = batch[0]
            if prev is not None:
                projected = prev[1] * n / prev[0]
                if projected > budget_s:
                    rows.append(
                        {
                            "detector": name,
                            "n": n,
                            "status": f"skipped (over {budget_s:.0f} s: linear projection "
                            f"{projected:.0f} s)",
                        }
                    )
                    continue
            for row in run_case(name, batch, budget_s):
                rows.append(row)
                ok = row["status"] == "ok"
                log(
                    f"  {name} n={row['n']:,}: {row['status']}"
                    + (
                        f" fit {row['fit_s']:.2f} s score {row['score_s']:.2f} s "
                        f"RSS {row['peak_rss_mb']:.0f} MB"
                        if ok
                        else ""
                    )
                )
                t = float(row["fit_s"]) + float(row["score_s"]) if ok else float("inf")
                prev = (int(row["n"]), t)
    return rows


def summary(rows: list[dict]) -> list[dict]:
    """Per detector: fit and score slopes, pass/fail on the scoring slope, largest case's RSS."""
    out = []
    for name in dict.fromkeys(r["detector"] for r in rows if r.get("status") != "baseline"):
        ok = [r for r in rows if r["detector"] == name and r.get("status") == "ok"]
        ns = [int(r["n"]) for r in ok]
        fit_slope = slope(ns, [float(r["fit_s"]) for r in ok])
        score_slope = slope(ns, [float(r["score_s"]) for r in ok])
        largest = max(ok, key=lambda r: r["n"]) if ok else None
        out.append(
            {
                "detector": name,
                "sizes_run": ns,
                "fit_slope": fit_slope,
                "score_slope": score_slope,
                "score_linear": None if score_slope is None else score_slope <= SCORE_SLOPE_TARGET,
                "largest_n": largest["n"] if largest else None,
                "largest_fit_s": largest["fit_s"] if largest else None,
                "largest_score_s": largest["score_s"] if largest else None,
                "peak_rss_mb": rss_of(largest) if largest else None,
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scaling")
    p.add_argument("--case", nargs=3, metavar=("DETECTOR", "N[,N...]", "OUT"), required=True)
    a = p.parse_args(argv)
    return _case(a.case[0], [int(n) for n in a.case[1].split(",")], Path(a.case[2]))


if __name__ == "__main__":
    sys.exit(main())


# ---- report --------------------------------------------------------------------------------------
def plot(rows: list[dict], path: Path) -> None:
    """Log-log fit and score time against n, one line per detector, slope in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharex=True)
    summ = {s["detector"]: s for s in summary(rows)}
    for name, s in summ.items():
        ok = [r for r in rows if r["detector"] == name and r.get("status") == "ok"]
        if not ok:
            continue
        ns = [r["n"] for r in ok]
        for ax, key, sk in ((axes[0], "fit_s", "fit_slope"), (axes[1], "score_s", "score_slope")):
            ts = [max(float(r[key]), 1e-4) for r in ok]
            lab = f"{name} (slope {s[sk]:.2f})" if s[sk] is not None else name
            ax.plot(ns, ts, marker="o", label=lab)
    for ax, title in ((axes[0], "fit"), (axes[1], "score")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("points (15-min Polito building, tiled)")
        ax.set_ylabel("seconds")
        ax.set_title(f"{title} time vs series length (slope fitted from 10k up)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _f(v, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def table(rows: list[dict]) -> str:
    lines = [
        "| detector | n | fit s | score s | peak RSS MB | status |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['detector']} | {r['n']:,} | {_f(r.get('fit_s'), '.3f')} | "
            f"{_f(r.get('score_s'), '.3f')} | {_f(rss_of(r), '.0f')} | {r['status']} |"
        )
    return "\n".join(lines)


def summary_table(rows: list[dict]) -> str:
    lines = [
        "| detector | sizes run | fit slope | score slope | scoring linear (<= 1.1) | largest n | "
        "fit s | score s | peak RSS MB (largest) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary(rows):
        ok = {True: "pass", False: "**fail**", None: "–"}[s["score_linear"]]
        lines.append(
            f"| {s['detector']} | {', '.join(f'{n:,}' for n in s['sizes_run'])} | "
            f"{_f(s['fit_slope'], '.2f')} | {_f(s['score_slope'], '.2f')} | {ok} | "
            f"{_f(s['largest_n'], ',')} | {_f(s['largest_fit_s'], '.2f')} | "
            f"{_f(s['largest_score_s'], '.2f')} | {_f(s['peak_rss_mb'], '.0f')} |"
        )
    return "\n".join(lines)
