"""``python -m benchmarks``: every benchmark in one run, written to ``docs/benchmarks.md`` + PNG plots.

    python -m benchmarks                      # everything (tens of minutes on 2 cores)
    python -m benchmarks --only quality,speed # some sections
    python -m benchmarks --smoke              # tiny inputs, writes to a temporary folder, < 60 s

Sections: ``quality`` (ours and peers on the labelled real series), ``speed`` (ratios against the
bare libraries, app timings), ``scaling`` (time vs length, peak RSS), and every other
``benchmarks/<name>.py`` that exposes ``run() -> list[dict]`` (ingestion, thresholds, streaming ...),
shown as plain tables. The machine, the library versions and the command head the page.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OWN = ("quality", "speed", "scaling")
SKIP_MODULES = {"quality", "speed", "scaling", "peers", "merlion_runner", "__main__"}
BENCH_REQS = REPO / "requirements-bench.txt"
LIBS = (
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "prophet",
    "cmdstanpy",
    "tensorflow-cpu",
    "keras",
    "shap",
    "pyod",
    "numba",
    "matplotlib",
)


# ---- environment ----------------------------------------------------------------------------------
def ensure_bench_requirements(log=print) -> None:
    """Install requirements-bench.txt with pip when a peer package is missing (said out loud)."""
    missing = [m for m in ("pyod", "matplotlib") if importlib.util.find_spec(m) is None]
    if not missing:
        return
    if os.environ.get("WATTSUP_BENCH_NO_INSTALL"):
        log(
            f"benchmarks: {', '.join(missing)} not installed and WATTSUP_BENCH_NO_INSTALL is set: "
            "those peers are reported as not run"
        )
        return
    log(
        f"benchmarks: {', '.join(missing)} not installed; installing {BENCH_REQS.name} with pip "
        "(peers and plotting only; the app does not need them) ..."
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            str(BENCH_REQS),
        ],
        check=True,
    )
    importlib.invalidate_caches()


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kb / 1024**2:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return {
        "cpu": cpu,
        "cores": str(cores),
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load": load,
    }


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for lib in LIBS:
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            out[lib] = "not installed"
    from benchmarks.peers import merlion_version

    out["salesforce-merlion (own venv)"] = merlion_version()
    return out


def other_modules() -> list[str]:
    """``benchmarks/<name>.py`` files written by others that expose ``run()``."""
    return sorted(
        p.stem
        for p in (REPO / "benchmarks").glob("*.py")
        if p.stem not in SKIP_MODULES and not p.stem.startswith("_")
    )


# ---- running ------------------------------------------------------------------------------------
def run_section(name: str, args, log) -> dict:
    t0 = time.perf_counter()
    try:
        if name == "quality":
            from benchmarks import quality

            rows = quality.run(smoke=args.smoke, budget_s=args.quality_budget, log=log)
        elif name == "speed":
            from benchmarks import speed

            rows = speed.run(smoke=args.smoke, log=log)
        elif name == "scaling":
            from benchmarks import scaling

            rows = scaling.run(smoke=args.smoke, budget_s=args.scaling_budget, log=log)
        else:
            mod = importlib.import_module(f"benchmarks.{name}")
            fn = getattr(mod, "run", None)
            if fn is None:
                return {"rows": [], "status": "no run() in module", "seconds": 0.0}
            params = inspect.signature(fn).parameters
            if args.smoke and "smoke" not in params:
                return {
                    "rows": [],
                    "status": "skipped in --smoke (its run() has no smoke mode)",
                    "seconds": 0.0,
                }
            log(f"{name}: running benchmarks.{name}.run()")
            rows = fn(smoke=True) if args.smoke else fn()
        status = "ok"
    except Exception as err:  # noqa: BLE001 - one broken section must not lose the others
        import traceback

        rows, status = [], f"error: {type(err).__name__}: {err}"
        log(traceback.format_exc())
    secs = time.perf_counter() - t0
    log(f"[{name}] {status} in {secs:.0f} s")
    return {"rows": list(rows or []), "status": status, "seconds": secs}


# ---- the page -----------------------------------------------------------------------------------
def _cell(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "pass" if v else "**fail**"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v))
    return str(v).replace("|", "/").replace("\n", " ")[:160]


def generic_table(rows: list[dict]) -> str:
    if not rows:
        return "_no rows_"
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def speed_table(rows: list[dict]) -> str:
    ratio = [r for r in rows if "ratio" in r]
    lines = []
    if ratio:
        lines += [
            "| path | ours s | bare library s | ratio | target | result | what is compared |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['item']} | {r['ours_s']:.2f} | {r['bare_s']:.2f} | {r['ratio']:.2f}x | "
            f"{r['target']} | {_cell(r['pass'])} | {r['note']} |"
            for r in ratio
        ]
    e2e = [r for r in rows if "total_s" in r]
    if e2e:
        lines += [
            "",
            "| upload -> first anomaly chart | total s | parse s | fit or load s | score+flags+events s "
            "| chart s | target | result | imports s (not counted) | peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['item'].removeprefix('e2e_')} | {r['total_s']:.2f} | {r['parse']:.2f} | "
            f"{r['fit_or_load']:.2f} | {r['score_flag_events']:.2f} | {r['chart']:.2f} | {r['target']} | "
            f"{_cell(r['pass'])} | {r['import_s']:.1f} | {r['peak_rss_mb']:.0f} |"
            for r in e2e
        ]
    lstm = [r for r in rows if "per_epoch_s" in r]
    for r in lstm:
        lines += [
            "",
            f"LSTM (defaults): {r['epochs_run']} epochs of at most {r['max_epochs']} "
            + (
                "(early stopping did not trigger); "
                if r["epochs_run"] == r["max_epochs"]
                else "(early stopping ended it); "
            )
            + f"first epoch {_cell(r['first_epoch_s'])} s, then {_cell(r['per_epoch_s'])} s per epoch "
            f"(median); whole fit {r['to_early_stop_s']:.1f} s. {r['note']}.",
        ]
    for r in (r for r in rows if "median_s" in r):
        lines += [
            "",
            f"SHAP ({r['item']}): {r['median_s']:.3f} s per anomaly (median of {r['anomalies']}; first "
            f"{r['first_s']:.2f} s). {r['note']}.",
        ]
    other = [r for r in rows if r.get("status") != "ok"]
    if other:
        lines += ["", *[f"- {r['item']}: {r['status']}" for r in other]]
    return "\n".join(lines)


def quality_plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from benchmarks.quality import means

    groups = list(dict.fromkeys(r["group"] for r in rows))
    fig, axes = plt.subplots(len(groups), 1, figsize=(13, 4.2 * len(groups)), squeeze=False)
    for ax, g in zip(axes[:, 0], groups, strict=True):
        ms = [m for m in means(rows, g) if m["ok"]]
        x = np.arange(len(ms))
        for i, (key, label) in enumerate(
            (("auc_roc", "AUC-ROC"), ("auc_pr", "AUC-PR"), ("f1", "F1"), ("event_f1", "event F1"))
        ):
            ax.bar(x + (i - 1.5) * 0.2, [m[key] or 0 for m in ms], 0.2, label=label)
        ax.set_xticks(x, [m["method"] for m in ms], rotation=60, ha="right", fontsize=7)
        ax.set_ylim(0, 1)
        ax.set_title(f"{g}: mean over series (default thresholds; labels never used to fit)")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def speed_plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratio = [r for r in rows if "ratio" in r]
    if not ratio:
        return
    fig, ax = plt.subplots(figsize=(6, 3.2))
    names = [r["item"] for r in ratio]
    ax.barh(
        names,
        [r["ratio"] for r in ratio],
        color=["#2ca02c" if r["pass"] else "#d62728" for r in ratio],
    )
    for i, r in enumerate(ratio):
        ax.plot([float(r["target"].split()[-1].rstrip("x"))] * 2, [i - 0.4, i + 0.4], "k--")
    ax.axvline(1.0, color="grey", lw=0.8)
    ax.set_xlabel("our time / bare library time (dashed: target)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _f3(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def headline(results: dict) -> list[str]:
    """A few bullet points with the figures people ask for first."""
    from benchmarks import quality, scaling

    out = []
    q = (results.get("quality") or {}).get("rows") or []
    for g in ("LEAD", "NAB"):
        ms = (
            {m["method"]: m for m in quality.means(q, g)} if any(r["group"] == g for r in q) else {}
        )
        e = ms.get("ensemble")
        if not e or not e["ok"]:
            continue
        peers = [m for m in ms.values() if m["family"] != quality.OURS_FAMILY and m["ok"]]
        best = max(peers, key=lambda m: m["auc_roc"] or -1, default=None)
        out.append(
            f"- {g} (mean of {e['ok']} series): ensemble AUC-ROC {_f3(e['auc_roc'])}, AUC-PR "
            f"{_f3(e['auc_pr'])}, F1 {_f3(e['f1'])} (random {_f3(e['random_f1'])}), event F1 "
            f"{_f3(e['event_f1'])} (random {_f3(e['random_event_f1'])})"
            + (
                f"; best peer by AUC-ROC: {best['method']} {_f3(best['auc_roc'])}, F1 "
                f"{_f3(best['f1'])}, event F1 {_f3(best['event_f1'])}."
                if best
                else "."
            )
        )
    sp = (results.get("speed") or {}).get("rows") or []
    bits = [
        f"{r['item']} {r['ratio']:.2f}x ({r['target']}: {'pass' if r['pass'] else 'FAIL'})"
        for r in sp
        if "ratio" in r
    ]
    bits += [
        f"upload -> chart {r['item'].removeprefix('e2e_')} {r['total_s']:.1f} s ({r['target']}: "
        f"{'pass' if r['pass'] else 'FAIL'})"
        for r in sp
        if "total_s" in r
    ]
    if bits:
        out.append("- Speed: " + "; ".join(bits) + ".")
    sc = (results.get("scaling") or {}).get("rows") or []
    summ = [x for x in scaling.summary(sc) if x["score_slope"] is not None]
    if summ:
        out.append(
            "- Scoring slopes (log-log, target <= 1.1): "
            + ", ".join(f"{x['detector']} {x['score_slope']:.2f}" for x in summ)
            + ". Peak RSS at the largest size run: "
            + ", ".join(
                f"{x['detector']} {x['peak_rss_mb']:.0f} MB ({x['largest_n']:,})"
                for x in summ
                if x["peak_rss_mb"] is not None
            )
            + "."
        )
    return ["## Headline", "", *out, ""] if out else []


def write_report(out: Path, info: dict, results: dict) -> Path:
    """docs/benchmarks.md (or ``out``/benchmarks.md) and the PNGs under ``out``/img."""
    from benchmarks import quality, scaling

    img = out / "img"
    img.mkdir(parents=True, exist_ok=True)
    m, v = info["machine"], info["versions"]
    L = [
        "# WattsUp benchmarks",
        "",
        f"Produced by `{info['command']}` on {info['started']} in {info['total_s'] / 60:.1f} min "
        "(generated page: edit `benchmarks/`, not this file).",
        "",
        f"**Machine:** {m['cpu']}, {m['cores']} cores, {m['ram']} RAM, {m['os']}, Python {m['python']}. "
        f"Load average {m['load']} at the start and {info['load_end']} at the end: the box is shared "
        "with other engineers' test runs, so absolute times are noisy; ratios are measured side by "
        "side in the same run.",
        "",
        "**Versions:** " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        "Sections run: "
        + ", ".join(f"{k} ({r['status']}, {r['seconds']:.0f} s)" for k, r in results.items())
        + ".",
        "",
    ]
    for note in info.get("notes", []):
        L += [f"> **Note:** {note}", ""]
    if info.get("pending"):
        L += [
            f"> **Incomplete:** still to run when this was written: {', '.join(info['pending'])}.",
            "",
        ]
    if info.get("smoke"):
        L += [
            "> **Smoke run** on tiny inputs: these numbers check the harness, not the models.",
            "",
        ]
    L += headline(results)
    q = results.get("quality")
    if q and q["rows"]:
        rows = q["rows"]
        quality_plot(rows, img / "bench_quality.png")
        L += [
            "## Detection quality on real labelled data",
            "",
            "Every method sees each whole series once, unsupervised (labels dropped before fitting), "
            "and flags at its own default threshold: ours `ThresholdSettings()` on the calibrated "
            "score (the app's default), PyOD its `labels_` (contamination 0.1: 10 % of points, "
            "whatever the data), Merlion its default post-rule alarms. Point-wise: AUC-ROC and "
            "AUC-PR on the scores, P/R/F1 on the flags. Event-wise: a labelled run is found when any "
            "flag falls in it; a flagged run is false when it touches no labelled run; delay = steps "
            "from an event's start to its first flag (found events only). `rnd` = a seeded random "
            "score that flags as many points as the method (its F1 is what that many flags buys by "
            "chance). No point-adjusted F1 is reported. Missing readings carry no label. `fit s` is "
            "the mean fit time per series, measured while other fits ran beside it (indicative "
            "only; see Speed for controlled timings). Data: "
            "`lead_dev` (LEAD1.0, 4 buildings, hourly 2016, hand labels; research use only) and "
            "`nab_real_known_cause` (NAB realKnownCause, 7 series, windows.json).",
            "",
            "PyOD runs on the same engineered features (`core.detect.features.feature_frame`, warm-up NaNs "
            "filled with column medians, standard-scaled) and on raw sliding windows (one day of "
            "steps, at most 48). Merlion 2.0.4 needs numpy<2, so it runs in its own virtual "
            "environment (`~/.cache/wattsup-bench/merlion-venv`, built by the benchmark) through "
            "`benchmarks/merlion_runner.py`, exchanging CSV. It is trained on the whole series, "
            "then scores it with `get_anomaly_score` (its online members need a history, so the "
            "first day, or two days when its ETS needs two seasonal cycles, is passed as "
            "`time_series_prev` and left unscored); alarms are its default post-rule on those "
            "scores.",
            "",
            "![quality](img/bench_quality.png)",
            "",
        ]
        for g, title in (("LEAD", "LEAD buildings"), ("NAB", "NAB realKnownCause series")):
            n = len({r["dataset"] for r in rows if r["group"] == g})
            if n:
                L += [f"### {g}: mean over {n} {title}", "", quality.summary_table(rows, g), ""]
        beat = quality.peers_beat_us(rows)
        L += ["### Where peers beat us", ""]
        L += (
            ["Computed from the means above (a peer's mean against ours):", ""]
            + [f"- {s}" for s in beat]
            if beat
            else ["On these means no peer beats our best detector or the ensemble."]
        )
        L += ["", "### Per series", "", quality.dataset_tables(rows), ""]
    sp = results.get("speed")
    if sp and sp["rows"]:
        speed_plot(sp["rows"], img / "bench_speed.png")
        L += [
            "## Speed",
            "",
            "A year of hourly real data (the Polito building, 15-min readings averaged to hourly by "
            '`parse_upload(..., CleanOptions(freq="1h"))`, 8,760 points). Ratios are our time over '
            "the bare library's on the same data, fastest of interleaved repeats.",
            "",
            speed_table(sp["rows"]),
            "",
        ]
        if (img / "bench_speed.png").exists():
            L += ["![speed](img/bench_speed.png)", ""]
    sc = results.get("scaling")
    if sc and sc["rows"]:
        scaling.plot(sc["rows"], img / "bench_scaling.png")
        L += [
            "## Scaling and memory",
            "",
            "Fit and score time for 1k, 10k, 100k and 350k points of real data: the Polito building "
            "(35,040 15-min readings with temperature) tiled ten times with timestamps shifted one "
            "year per copy (350,400 points = 10 years of 15-min data; tiling repeats one year, so "
            "this measures cost, not accuracy). Cases run in subprocesses (1k and 10k share one; "
            "100k and 350k each have their own); peak RSS is that process's own `VmHWM`, imports "
            "included (see the import-only baseline; Prophet's Stan executable not included). Slopes: least squares of log time on log n from 10k up. Cases over the "
            "per-case budget are killed and marked skipped.",
            "",
            "![scaling](img/bench_scaling.png)",
            "",
            scaling.summary_table(sc["rows"]),
            "",
            "<details><summary>every case</summary>",
            "",
            scaling.table(sc["rows"]),
            "",
            "</details>",
            "",
        ]
    for name, r in results.items():
        if name in OWN:
            continue
        L += [
            f"## {name} (`benchmarks/{name}.py`)",
            "",
            f"Status: {r['status']}, {r['seconds']:.0f} s.",
            "",
        ]
        L += [generic_table(r["rows"]), ""]
    page = out / "benchmarks.md"
    page.write_text("\n".join(L) + "\n")
    return page


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="tiny inputs, fast; writes to a temp dir")
    p.add_argument("--only", default="", help="comma-separated sections (default: all)")
    p.add_argument("--out", type=Path, default=None, help="folder for benchmarks.md and img/")
    p.add_argument("--quality-budget", type=float, default=900.0, help="s per detector, all series")
    p.add_argument(
        "--scaling-budget", type=float, default=120.0, help="s per (detector, size) case"
    )
    args = p.parse_args(argv)

    from core.quiet import quiet_libraries

    quiet_libraries()
    ensure_bench_requirements()
    all_sections = [*OWN, *other_modules()]
    wanted = [s.strip() for s in args.only.split(",") if s.strip()] or all_sections
    unknown = [s for s in wanted if s not in all_sections]
    if unknown:
        p.error(f"unknown section(s) {unknown}; choose from {all_sections}")
    out = args.out or (
        Path(tempfile.mkdtemp(prefix="wattsup-bench-smoke-")) if args.smoke else REPO / "docs"
    )
    out.mkdir(parents=True, exist_ok=True)

    started = datetime.now(UTC)
    info = {"machine": machine(), "versions": versions()}
    m = info["machine"]
    print(
        f"machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM, {m['os']}, Python {m['python']}, "
        f"load average {m['load']}",
        flush=True,
    )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()), flush=True)

    def log(msg: str) -> None:
        print(msg, flush=True)

    raw = Path(os.environ.get("WATTSUP_BENCH_CACHE", Path.home() / ".cache" / "wattsup-bench"))
    raw.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results: dict[str, dict] = {}
    for i, name in enumerate(wanted):
        results[name] = run_section(name, args, log)
        # the page is rewritten after every section, so an interrupted run still leaves one
        total = time.perf_counter() - t0
        info.update(
            command="python -m benchmarks" + (" " + " ".join(argv) if argv else ""),
            started=started.strftime("%Y-%m-%d %H:%M UTC"),
            total_s=total,
            load_end=", ".join(f"{x:.1f}" for x in os.getloadavg()),
            smoke=args.smoke,
            pending=wanted[i + 1 :],
        )
        page = write_report(out, info, results)
        (raw / ("last-smoke.json" if args.smoke else "last-run.json")).write_text(
            json.dumps({"info": info, "results": results}, default=str, indent=1)
        )
    print(f"wrote {page} in {total:.0f} s", flush=True)
    return 0 if all(r["status"] == "ok" for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
