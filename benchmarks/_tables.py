"""Markdown tables for the benchmark page: any rows as a plain table, and the speed section's."""

from __future__ import annotations


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
