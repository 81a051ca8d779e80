"""The benchmark page, ``benchmarks.md``: the machine and versions, a headline, then one part per
section (tables from ``benchmarks._tables``, PNGs from ``benchmarks._plots`` under ``img/``)."""

from __future__ import annotations

from pathlib import Path

from benchmarks._plots import quality_plot, speed_plot
from benchmarks._sections import OWN
from benchmarks._tables import generic_table, speed_table


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
