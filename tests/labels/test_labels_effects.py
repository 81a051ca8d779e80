"""What labels change: metrics on them, "like one you dismissed", the suggested threshold."""

from __future__ import annotations

import pandas as pd

from core.detect.detectors import REGISTRY
from core.detect.scoring import score_frame
from core.detect.thresholds import ThresholdSettings, flag_points
from core.labels.feedback import feedback_series, label_kinds
from core.labels.metrics import label_metrics
from core.labels.suggest import (
    MARGIN,
    confirmed_events,
    reviewed,
    suggest_threshold,
    suggestion_shortfall,
)
from core.labels.suppression import is_like_dismissed, mark_like_dismissed
from tests.labels.conftest import spans


def _scored(frame):
    det = REGISTRY["ensemble"]().fit(frame)
    return score_frame(det, frame)


def test_feedback_and_kinds(series):
    """Real spans are 1, dismissed 0, the rest NaN; a real span without an event is 'missed'."""
    idx = series[0].index
    labels = spans(idx).assign(event_id=[1, pd.NA, 2, 3, 4, 5], note="")
    y = feedback_series(idx, labels)
    assert y.iloc[702] == 1 and y.iloc[100] == 0 and pd.isna(y.iloc[5])
    assert (
        list(label_kinds(labels)["kind"])
        == ["confirmed", "missed", "confirmed"] + ["dismissed"] * 3
    )


def test_metrics_on_the_labels_beside_random(series):
    """Flags exactly on the confirmed spans give precision/recall 1 on labelled readings; random lower."""
    frame, _ = series
    scored = _scored(frame)
    labels = spans(frame.index)
    flags = feedback_series(frame.index, labels).eq(1)
    m = label_metrics(labels, scored, flags)
    assert m["precision"] == 1 and m["recall"] == 1 and m["event_f1"] == 1
    assert m["random_f1"] < 1 and m["labelled_points"] == 30


def test_threshold_suggestion_on_the_reviewed_span(series):
    """The suggested k is the best (F1 + event F1) / 2 on the labels, the reviewed span's unlabelled
    readings counted as normal; offered only when clearly better than the current k."""
    frame, _ = series
    scored = _scored(frame)
    labels = spans(frame.index)
    s = suggest_threshold(scored, labels, ThresholdSettings(k=5.0))
    assert s is not None and s.better and s.score >= s.current_score + MARGIN
    truth = reviewed(labels)
    flags = flag_points(scored, ThresholdSettings(k=s.k))
    m = label_metrics(truth, scored, flags)
    assert (m["f1"], m["event_f1"]) == (s.f1, s.event_f1)
    # a reading between the labels that nobody marked is normal: flagging it costs precision
    inside = (frame.index > labels["start"].min()) & (frame.index < labels["end"].max())
    assert m["labelled_points"] == inside.sum() + 2
    # at the suggested k itself nothing better is offered
    again = suggest_threshold(scored, labels, ThresholdSettings(k=s.k))
    assert again is not None and not again.better and again.k == s.k


def test_no_suggestion_before_three_confirmed_anomalies(series):
    """Two confirmed anomalies are not enough: None, and the page says what is missing."""
    frame, _ = series
    scored = _scored(frame)
    two = spans(frame.index).iloc[1:]
    assert confirmed_events(two) == 2
    assert suggest_threshold(scored, two, ThresholdSettings(k=5.0)) is None
    assert "once 3 anomalies are confirmed (2 so far)" in suggestion_shortfall(two)
    assert suggestion_shortfall(spans(frame.index)) is None


def test_like_one_you_dismissed():
    """Same type, same time of week, similar size: like it; another type, hour or size: not."""
    dismissed = pd.DataFrame(
        {
            "start": [pd.Timestamp("2024-01-07 06:00")],  # a Sunday-morning boiler start
            "end": [pd.Timestamp("2024-01-07 08:00")],
            "type": ["off_hours"],
            "excess": [12.0],
        }
    )
    same = {
        "start": pd.Timestamp("2024-01-14 07:00"),
        "end": pd.Timestamp("2024-01-14 09:00"),
        "type": "off_hours",
        "excess": 15.0,
    }
    assert is_like_dismissed(same, dismissed)
    assert not is_like_dismissed({**same, "type": "spike"}, dismissed)
    assert not is_like_dismissed(
        {
            **same,
            "start": pd.Timestamp("2024-01-10 14:00"),
            "end": pd.Timestamp("2024-01-10 16:00"),
        },
        dismissed,
    )
    assert not is_like_dismissed({**same, "excess": 80.0}, dismissed)
    assert not is_like_dismissed({**same, "excess": -12.0}, dismissed)
    assert not is_like_dismissed(same, dismissed.iloc[:0])
    events = pd.DataFrame([same, {**same, "type": "dip"}])
    assert mark_like_dismissed(events, dismissed).tolist() == [True, False]
