"""Leave-one-out choice of detection defaults on labelled files, and what the choice scores held out.

A default chosen by its score on the file it is then reported on says nothing about a meter it has
never seen. Here every labelled file (a LEAD building, a NAB series) is held out in turn: the
candidate settings are ranked on the *other* files only, the best is applied to the held-out file,
and the held-out figures are what is reported. The spread of those figures across files is the
honest answer to "how well will the defaults do on my meter".

A candidate is a threshold ``k`` (calibrated sigma-equivalent), an event ``merge_gap`` (unflagged
steps bridged inside one event) and the ensemble's ``smooth_hours``. It is ranked by the mean over
files of ``(point F1 + event F1) / 2``: a person reads events, and point F1 keeps them from being
stretched over normal hours. Ties go to the candidate nearest the shipped defaults, so a round,
explained default is kept unless another one is better.

Labels are used only to rank candidates on the training files and to score the held-out file: no
detector ever sees a label.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.detect.detectors.ensemble import DEFAULT_K
from core.detect.evaluation import evaluate
from core.detect.pipeline import DetectorSettings, make_detector
from core.detect.run import DEFAULT_MERGE_GAP, detect_events
from core.detect.scoring import score_frame
from core.detect.thresholds import ThresholdSettings

DEFAULT_SMOOTH_HOURS = 3.0
K_GRID: tuple[float, ...] = (1.75, 2.0, 2.25, 2.5)
GAP_GRID: tuple[int, ...] = (0, 1, 3, 6)
SMOOTH_GRID: tuple[float, ...] = (1.0, 3.0, 6.0)
METRICS: tuple[str, ...] = (
    "auc_roc",
    "auc_pr",
    "precision",
    "recall",
    "f1",
    "event_precision",
    "event_recall",
    "event_f1",
    "random_f1",
    "random_event_f1",
)


@dataclass(frozen=True)
class Candidate:
    """One setting of the defaults under test."""

    k: float = DEFAULT_K
    merge_gap: int = DEFAULT_MERGE_GAP
    smooth_hours: float = DEFAULT_SMOOTH_HOURS

    def distance(self) -> float:
        """How far from the shipped defaults (ties go to the nearest)."""
        shipped = Candidate()
        return (
            abs(self.k - shipped.k) / 0.25
            + abs(self.merge_gap - shipped.merge_gap)
            + abs(np.log2(self.smooth_hours / shipped.smooth_hours))
        )


@dataclass(frozen=True)
class Labelled:
    """A labelled file as the detectors see it: the canonical frame (no label column) and labels."""

    name: str
    frame: pd.DataFrame
    labels: pd.Series
    freq: pd.Timedelta
    unit: str


def grid() -> list[Candidate]:
    return [Candidate(k, g, s) for s in SMOOTH_GRID for k in K_GRID for g in GAP_GRID]


def objective(metrics: dict[str, float]) -> float:
    return (_finite(metrics["f1"]) + _finite(metrics["event_f1"])) / 2


def score_grid(
    files: Sequence[Labelled],
    candidates: Sequence[Candidate],
    *,
    detector: str = "ensemble",
    progress: Callable[[float, str], None] | None = None,
) -> dict[tuple[str, Candidate], dict[str, float]]:
    """Metrics of every candidate on every file (one fit per file and smoothing width)."""
    out: dict[tuple[str, Candidate], dict[str, float]] = {}
    widths = sorted({c.smooth_hours for c in candidates})
    total, done = len(files) * len(widths), 0
    for f in files:
        for width in widths:
            if progress is not None:
                progress(done / total, f"{f.name}: fitting ({width:g} h smoothing)")
            params = {"smooth_hours": width} if detector == "ensemble" else {}
            det = make_detector(DetectorSettings.of(detector, **params)).fit(f.frame)
            scored = score_frame(det, f.frame)
            for c in (c for c in candidates if c.smooth_hours == width):
                found = detect_events(
                    scored,
                    ThresholdSettings(k=c.k),
                    freq=f.freq,
                    unit=f.unit,
                    merge_gap=c.merge_gap,
                )
                out[(f.name, c)] = evaluate(
                    f.labels, scored["score"], found.flags, events=found.event_mask()
                )
            done += 1
    if progress is not None:
        progress(1.0, "scored")
    return out


def choose(
    scores: dict[tuple[str, Candidate], dict[str, float]],
    names: Sequence[str],
    candidates: Sequence[Candidate],
) -> Candidate:
    """The candidate with the best mean objective over ``names`` (ties: nearest the defaults)."""

    def rank(c: Candidate) -> tuple[float, float]:
        mean = float(np.mean([objective(scores[(n, c)]) for n in names]))
        return (-round(mean, 4), c.distance())

    return min(candidates, key=rank)


def leave_one_out(
    files: Sequence[Labelled],
    candidates: Sequence[Candidate] | None = None,
    *,
    detector: str = "ensemble",
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, object]:
    """Per held-out file: the candidate chosen on the others and its held-out metrics; the mean and
    spread of those; the shipped defaults' figures on the same files; and the choice on all files."""
    if len(files) < 2:
        raise ValueError("leave-one-out needs at least two labelled files")
    candidates = list(candidates or grid())
    shipped = Candidate()
    if shipped not in candidates:
        candidates.append(shipped)
    scores = score_grid(files, candidates, detector=detector, progress=progress)
    names = [f.name for f in files]
    folds = []
    for held in names:
        chosen = choose(scores, [n for n in names if n != held], candidates)
        folds.append(
            {
                "held_out": held,
                "chosen": asdict(chosen),
                "held_out_metrics": _rounded(scores[(held, chosen)]),
                "shipped_metrics": _rounded(scores[(held, shipped)]),
            }
        )
    return {
        "detector": detector,
        "files": names,
        "folds": folds,
        "held_out_mean": _summary([f["held_out_metrics"] for f in folds]),
        "shipped_mean": _summary([f["shipped_metrics"] for f in folds]),
        "shipped": asdict(shipped),
        "chosen_on_all": asdict(choose(scores, names, candidates)),
    }


def _summary(rows: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    frame = pd.DataFrame(rows)
    return {
        m: {
            "mean": round(float(frame[m].mean()), 4),
            "min": round(float(frame[m].min()), 4),
            "max": round(float(frame[m].max()), 4),
        }
        for m in METRICS
        if m in frame
    }


def _rounded(metrics: dict[str, float]) -> dict[str, float]:
    return {m: round(_finite(metrics[m]), 4) for m in METRICS if m in metrics}


def _finite(x: float) -> float:
    return float(x) if np.isfinite(x) else 0.0
