"""The benchmark page's PNG plots (matplotlib, Agg backend): quality by method, speed ratios."""

from __future__ import annotations

from pathlib import Path


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
