"""Evaluation: point-wise metrics agree with scikit-learn; event-wise metrics count runs as documented."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, precision_recall_fscore_support, roc_auc_score

from core.detect.evaluation import METRICS, evaluate, labels_from_windows


def case(seed: int, n: int = 2000, ties: bool = False):
    rng = np.random.default_rng(seed)
    labels = np.zeros(n)
    for start in rng.choice(n - 20, size=8, replace=False):
        labels[start : start + rng.integers(1, 12)] = 1
    scores = rng.normal(size=n) + 2.5 * labels
    if ties:
        scores = np.round(scores)  # many tied scores, the hard case for AUC
    flags = scores > 2.0
    return labels, scores, flags


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_point_metrics_match_scikit_learn(seed, ties):
    """AUC-ROC, average precision and precision/recall/F1 equal scikit-learn's, ties included."""
    labels, scores, flags = case(seed, ties=ties)
    m = evaluate(labels, scores, flags)
    assert m["auc_roc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert m["auc_pr"] == pytest.approx(average_precision_score(labels, scores), abs=1e-12)
    p, r, f, _ = precision_recall_fscore_support(labels, flags, average="binary", zero_division=0)
    assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((p, r, f), abs=1e-12)


def test_all_keys_present_with_random_baseline():
    """Every metric comes with its random_ twin."""
    m = evaluate(*case(0))
    assert set(m) == set(METRICS) | {f"random_{k}" for k in METRICS}


def test_random_baseline_is_seeded_and_near_chance():
    """The random score is reproducible for a seed and scores about 0.5 AUC."""
    labels, scores, flags = case(4, n=20_000)
    a, b = evaluate(labels, scores, flags, seed=1), evaluate(labels, scores, flags, seed=1)
    assert a["random_auc_roc"] == b["random_auc_roc"]
    assert a["random_auc_roc"] == pytest.approx(0.5, abs=0.05)
    assert a["random_auc_pr"] == pytest.approx(labels.mean(), abs=0.02)
    assert a["auc_roc"] > a["random_auc_roc"] + 0.2


def test_random_baseline_flags_as_many_points():
    """The random flags have the same flag rate: random precision is the base rate, roughly."""
    labels, scores, flags = case(5, n=20_000)
    m = evaluate(labels, scores, flags)
    assert m["random_precision"] == pytest.approx(labels.mean(), abs=0.03)


def test_event_metrics_count_runs_and_delays():
    """Found labelled events, false predicted events and the delay to the first flag, by hand."""
    labels = np.array([0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0], dtype=float)
    flags = np.array([0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0], dtype=bool)
    # labelled events: [1-3] found (delay 2), [6-7] missed, [12] found (delay 0)
    # predicted events: [3-4] touches one, [9] false, [12] true
    m = evaluate(labels, np.arange(16.0), flags)
    assert m["event_recall"] == pytest.approx(2 / 3)
    assert m["event_precision"] == pytest.approx(2 / 3)
    assert m["event_f1"] == pytest.approx(2 / 3)
    assert m["mean_delay_steps"] == pytest.approx(1.0)


def test_nan_labels_are_dropped():
    """Points with unknown labels count nowhere: the metrics equal those without the points."""
    labels, scores, flags = case(6)
    with_nan = labels.copy()
    with_nan[500:600] = np.nan
    keep = np.isfinite(with_nan)
    a = evaluate(with_nan, scores, flags)
    b = evaluate(labels[keep], scores[keep], flags[keep])
    for key in ("auc_roc", "auc_pr", "precision", "recall", "f1", "event_recall"):
        assert a[key] == pytest.approx(b[key])


def test_nan_scores_rank_lowest_and_series_align_on_index():
    """NaN scores do not crash the AUC, and Series are aligned by index before anything is counted."""
    labels, scores, flags = case(7)
    idx = pd.date_range("2024-01-01", periods=len(labels), freq="1h")
    s = pd.Series(scores, index=idx)
    s.iloc[:10] = np.nan
    m = evaluate(pd.Series(labels, index=idx), s.iloc[::-1], pd.Series(flags, index=idx))
    assert np.isfinite(m["auc_roc"]) and m["auc_roc"] > 0.8


def test_undefined_metrics():
    """One class only: AUCs are NaN, recall 0; no flags: precision 0 and no delay."""
    m = evaluate(np.zeros(50), np.arange(50.0), np.zeros(50, dtype=bool))
    assert np.isnan(m["auc_roc"]) and np.isnan(m["auc_pr"])
    assert m["precision"] == 0.0 and m["recall"] == 0.0 and m["event_recall"] == 0.0
    assert np.isnan(m["mean_delay_steps"])


def test_bad_inputs_are_refused():
    """Mismatched lengths and labels other than 0/1 raise ValueError with a message."""
    with pytest.raises(ValueError, match="one length"):
        evaluate(np.zeros(5), np.zeros(4), np.zeros(5, dtype=bool))
    with pytest.raises(ValueError, match="0 or 1"):
        evaluate(np.array([0, 2, 1.0]), np.zeros(3), np.zeros(3, dtype=bool))


def test_labels_from_windows_are_inclusive():
    """NAB windows mark start <= t <= end, both ends included."""
    idx = pd.date_range("2014-07-01", periods=10, freq="1h")
    windows = [["2014-07-01 02:00:00.000000", "2014-07-01 04:00:00.000000"]]
    labels = labels_from_windows(idx, windows)
    assert labels.tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0]
    tz = labels_from_windows(idx.tz_localize("UTC"), windows)
    assert tz.sum() == 3
