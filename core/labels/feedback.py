"""Stored labels (``core.store.labels``) -> what a detector learns from and what a chart draws."""

from __future__ import annotations

import numpy as np
import pandas as pd

POSITIVE = ("real",)
NEGATIVE = ("not_anomaly", "expected")
# how a chart names each kind of label: a ``real`` label without an event is one the detector missed
KINDS = ("confirmed", "dismissed", "expected", "missed")


def feedback_series(index: pd.DatetimeIndex, labels: pd.DataFrame) -> pd.Series:
    """1.0 inside ``real`` spans, 0.0 inside ``not_anomaly``/``expected`` ones, NaN elsewhere.

    ``labels`` has ``start, end, verdict`` (inclusive spans, times on the index's clock). Where a
    positive and a negative span meet (the store refuses overlaps that disagree), positive wins.
    """
    out = np.full(len(index), np.nan)
    if labels is None or labels.empty:
        return pd.Series(out, index=index, name="feedback")
    order = labels.assign(_pos=labels["verdict"].isin(POSITIVE)).sort_values("_pos")
    for row in order.itertuples(index=False):
        if row.verdict not in POSITIVE + NEGATIVE:
            continue
        inside = (index >= _on(row.start, index)) & (index <= _on(row.end, index))
        out[inside] = 1.0 if row.verdict in POSITIVE else 0.0
    return pd.Series(out, index=index, name="feedback")


def label_kinds(labels: pd.DataFrame) -> pd.DataFrame:
    """``start, end, kind, note`` per label, ``kind`` one of ``KINDS`` (for the chart's shapes)."""
    if labels is None or labels.empty:
        return pd.DataFrame(columns=["start", "end", "kind", "note"])
    has_event = (
        labels["event_id"].notna() if "event_id" in labels else pd.Series(True, index=labels.index)
    )
    kind = np.select(
        [
            labels["verdict"].eq("real") & has_event,
            labels["verdict"].eq("real"),
            labels["verdict"].eq("expected"),
        ],
        ["confirmed", "missed", "expected"],
        "dismissed",
    )
    note = labels["note"] if "note" in labels else pd.Series("", index=labels.index)
    return pd.DataFrame(
        {"start": labels["start"], "end": labels["end"], "kind": kind, "note": note}
    )


def _on(when, index: pd.DatetimeIndex) -> pd.Timestamp:
    ts = pd.Timestamp(when)
    if index.tz is not None and ts.tzinfo is None:
        return ts.tz_localize(index.tz)
    if index.tz is None and ts.tzinfo is not None:
        return ts.tz_localize(None)
    return ts
