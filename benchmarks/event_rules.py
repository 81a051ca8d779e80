"""Event-level thresholds, held out (issue 15): does judging each event by its own score help?

``python -m benchmarks.event_rules`` fits the default ensemble once on each labelled file (the four
LEAD buildings, the seven NAB realKnownCause series), flags points at ``k`` (1.75-2.5) with the
event merge gap (0-6 steps), and then keeps an event only when its own score passes a rule:

``none``   every event (what ships)
``peak``   the event's highest calibrated score is at least ``v``
``mean``   the mean calibrated score of its flagged readings is at least ``v``
``area``   its peak plus its flagged readings' scores above ``k``, summed, is at least ``v``
           (a size: a short sharp event and a long mild one can both pass)

An event that fails its rule is dropped with its flags. Each file is held out in turn: the
candidate (k, gap, rule, v) with the best mean (point F1 + event F1) / 2 on the *other* files is
applied to it (ties: nearest the shipped defaults, the same ranking as ``python -m core tune``), and
the held-out figures are printed beside the shipped defaults' (k 2, gap 1, no rule).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._environment import REPO
from core.commands.tune import _labelled, _windows
from core.detect.evaluation import evaluate
from core.detect.pipeline import DetectorSettings, make_detector
from core.detect.run import DEFAULT_MERGE_GAP, detect_events
from core.detect.scoring import score_frame
from core.detect.thresholds import DEFAULT_K, ThresholdSettings
from core.detect.tuning import GAP_GRID, K_GRID, Labelled, objective

DATA = REPO.parent / "shared" / "data"
RULES: tuple[tuple[str, float], ...] = (
    ("none", 0.0),
    *(("peak", v) for v in (2.5, 3.0, 3.5)),
    *(("mean", v) for v in (2.25, 2.5, 3.0)),
    *(("area", v) for v in (3.0, 5.0, 8.0)),
)
SHIPPED = (DEFAULT_K, DEFAULT_MERGE_GAP, "none", 0.0)
KEPT = ("f1", "event_f1", "event_precision", "event_recall", "auc_roc")


def labelled_sets() -> dict[str, list[Labelled]]:
    nab_dir = DATA / "nab_real_known_cause"
    windows = _windows(str(nab_dir / "windows.json"))
    return {
        "LEAD": [
            _labelled(p, None, None) for p in sorted((DATA / "lead_dev").glob("building_*.csv"))
        ],
        "NAB": [_labelled(nab_dir / Path(k).name, windows, None) for k in sorted(windows)],
    }


def _event_sizes(scores: np.ndarray, flags: np.ndarray, spans, k: float) -> list[dict[str, float]]:
    out = []
    for a, b in spans:
        part, flagged = scores[a : b + 1], flags[a : b + 1]
        inside = part[flagged]
        out.append(
            {
                "peak": float(np.nanmax(part)),
                "mean": float(np.nanmean(inside)) if inside.size else float("nan"),
                "area": float(np.nanmax(part) + np.nansum(np.clip(inside - k, 0.0, None))),
            }
        )
    return out


def score_file(f: Labelled) -> dict[tuple, dict[str, float]]:
    """Metrics of every (k, gap, rule, v) on one file, from one fit."""
    scored = score_frame(make_detector(DetectorSettings.of("ensemble")).fit(f.frame), f.frame)
    scores, index = scored["score"].to_numpy(dtype=float), scored.index
    out = {}
    for k, gap in itertools.product(K_GRID, GAP_GRID):
        found = detect_events(
            scored, ThresholdSettings(k=k), freq=f.freq, unit=f.unit, merge_gap=gap
        )
        flags = found.flags.to_numpy(dtype=bool)
        events = found.events
        spans = list(
            zip(
                index.get_indexer(pd.DatetimeIndex(events["start"])),
                index.get_indexer(pd.DatetimeIndex(events["end"])),
                strict=True,
            )
        )
        sizes = _event_sizes(scores, flags, spans, k)
        for rule, v in RULES:
            mask, kept = np.zeros(len(index), bool), np.zeros(len(index), bool)
            for (a, b), size in zip(spans, sizes, strict=True):
                if rule == "none" or size[rule] >= v:
                    mask[a : b + 1] = True
                    kept[a : b + 1] = flags[a : b + 1]
            m = evaluate(
                f.labels,
                scored["score"],
                pd.Series(kept, index=index),
                events=pd.Series(mask, index=index),
            )
            out[(k, gap, rule, v)] = {x: float(np.nan_to_num(m[x])) for x in KEPT}
    return out


def _label(c: tuple) -> str:
    k, gap, rule, v = c
    return f"k {k:g}, gap {gap}, {rule}" + (f" {v:g}" if rule != "none" else "")


def _distance(c: tuple) -> float:
    return abs(c[0] - SHIPPED[0]) / 0.25 + abs(c[1] - SHIPPED[1]) + (c[2] != "none")


def leave_one_out(files: list[Labelled]) -> list[dict]:
    scores = {f.name: score_file(f) for f in files}
    names = list(scores)
    candidates = list(scores[names[0]])
    rows = []
    for held in names:
        others = [n for n in names if n != held]

        def rank(c: tuple, others: list[str] = others) -> tuple[float, float]:
            return (
                -round(float(np.mean([objective(scores[n][c]) for n in others])), 4),
                _distance(c),
            )

        chosen = min(candidates, key=rank)
        rows.append(
            {
                "held_out": held,
                "chosen": chosen,
                "held": scores[held][chosen],
                "shipped": scores[held][SHIPPED],
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| held out | chosen | F1 | event F1 | event P | shipped F1 | shipped event F1 | shipped event P |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        h, s = r["held"], r["shipped"]
        lines.append(
            f"| {r['held_out']} | {_label(r['chosen'])} | {h['f1']:.3f} | "
            f"{h['event_f1']:.3f} | {h['event_precision']:.3f} | {s['f1']:.3f} | {s['event_f1']:.3f} | "
            f"{s['event_precision']:.3f} |"
        )
    mean = {w: {m: np.mean([r[w][m] for r in rows]) for m in KEPT} for w in ("held", "shipped")}
    h, s = mean["held"], mean["shipped"]
    lines.append(
        f"| **mean** | | {h['f1']:.3f} | {h['event_f1']:.3f} | {h['event_precision']:.3f} | {s['f1']:.3f} | "
        f"{s['event_f1']:.3f} | {s['event_precision']:.3f} |"
    )
    return "\n".join(lines)


def run() -> list[dict]:
    """The held-out rows of both sets, for ``python -m benchmarks``."""
    rows = []
    for name, files in labelled_sets().items():
        for r in leave_one_out(files):
            rows.append(
                {
                    "set": name,
                    "held_out": r["held_out"],
                    "chosen": _label(r["chosen"]),
                    **{m: round(r["held"][m], 3) for m in KEPT},
                    **{f"shipped_{m}": round(r["shipped"][m], 3) for m in KEPT},
                }
            )
    return rows


def main() -> int:
    for name, files in labelled_sets().items():
        rows = leave_one_out(files)
        print(f"#### {name}\n\n{table(rows)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
