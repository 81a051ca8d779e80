"""Small, UI-free shapes the pages show: tables, counters, windows. Pure, so they are tested without a page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

EVENT_TABLE_COLUMNS = ["start", "end", "duration_h", "type", "excess", "cause"]

METRIC_ROWS = (
    ("Precision (points)", "precision"),
    ("Recall (points)", "recall"),
    ("F1 (points)", "f1"),
    ("Precision (events)", "event_precision"),
    ("Recall (events)", "event_recall"),
    ("F1 (events)", "event_f1"),
    ("AUC-ROC", "auc_roc"),
    ("AUC-PR", "auc_pr"),
)


def detector_settings(chosen: Sequence[str]):
    """Detector names picked in the UI -> ``DetectorSettings``.

    One name is that detector; several are an ensemble of them ("ensemble" itself is dropped from a
    list of members, since an ensemble cannot contain one).
    """
    from core.detect.pipeline import DetectorSettings

    names = list(dict.fromkeys(chosen))
    if not names:
        raise ValueError("pick at least one detector")
    if len(names) == 1:
        return DetectorSettings(detector=names[0])
    members = tuple(n for n in names if n != "ensemble")
    if len(members) == 1:
        return DetectorSettings(detector=members[0])
    return DetectorSettings(detector="ensemble", params=(("members", members),))


def events_table(events: pd.DataFrame) -> pd.DataFrame:
    """The events as the page lists them: the columns a person reads, positions as in ``events``."""
    cols = [c for c in EVENT_TABLE_COLUMNS if c in events.columns]
    out = events[cols].reset_index(drop=True)
    for c in ("start", "end"):
        if c in out:
            out[c] = pd.to_datetime(out[c])
    return out


def event_window(
    event: pd.Series, freq: pd.Timedelta, pad_steps: int = 24
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """A chart x-range around one event: the event plus ``pad_steps`` readings (at least 6 h) each side."""
    pad = max(pd.Timedelta(freq) * pad_steps, pd.Timedelta(hours=6))
    return pd.Timestamp(event["start"]) - pad, pd.Timestamp(event["end"]) + pad


def summary_counts(
    scored: pd.DataFrame, flags: pd.Series, events: pd.DataFrame, freq: pd.Timedelta
) -> dict[str, Any]:
    """Live counters: events, alerts (events) per week, flagged readings, positive excess energy."""
    span = (
        (scored.index[-1] - scored.index[0] + pd.Timedelta(freq))
        if len(scored)
        else pd.Timedelta(0)
    )
    weeks = max(span / pd.Timedelta(days=7), 1e-9)
    excess = (
        events["excess"].to_numpy(dtype=float)
        if "excess" in events and len(events)
        else np.array([])
    )
    return {
        "events": int(len(events)),
        "alerts_per_week": float(len(events) / weeks) if len(scored) else 0.0,
        "flagged": int(flags.sum()),
        "excess": float(np.nansum(excess[excess > 0])) if excess.size else 0.0,
    }


def metrics_table(result: dict[str, float]) -> pd.DataFrame:
    """``evaluate`` output as rows: metric, this detector, the random baseline."""
    rows = [
        {
            "metric": label,
            "detector": float(result.get(key, np.nan)),
            "random": float(result.get(f"random_{key}", np.nan)),
        }
        for label, key in METRIC_ROWS
        if key in result
    ]
    return pd.DataFrame(rows, columns=["metric", "detector", "random"])


def date_window(
    scored: pd.DataFrame, flags: pd.Series, events: pd.DataFrame, start: Any, end: Any
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """The readings, flags and events between two calendar dates (``end`` included, whole day).

    Events that overlap the window are kept whole, so their excess energy stays what the table says.
    """
    tz = scored.index.tz
    lo = (
        pd.Timestamp(start).tz_localize(tz)
        if pd.Timestamp(start).tz is None
        else pd.Timestamp(start)
    )
    hi = pd.Timestamp(end).tz_localize(tz) if pd.Timestamp(end).tz is None else pd.Timestamp(end)
    hi = hi + pd.Timedelta(days=1)
    if len(scored) and scored.index[0] >= lo and scored.index[-1] < hi:  # the whole series
        return scored, flags, events
    inside = (scored.index >= lo) & (scored.index < hi)
    if events.empty:
        kept = events
    else:
        kept = events[
            (pd.to_datetime(events["end"]) >= lo) & (pd.to_datetime(events["start"]) < hi)
        ]
    return scored.loc[inside], flags.loc[inside], kept


def metrics_lines(result: dict[str, float]) -> dict[str, str]:
    """``evaluate`` output as "value (random value)" lines for the PDF report."""
    return {
        row["metric"]: f"{row['detector']:.3f} (random {row['random']:.3f})"
        for row in metrics_table(result).to_dict("records")
    }


def file_stem(name: str, limit: int = 40) -> str:
    """A download file-name stem from a dataset name: letters and digits, the rest as "_"."""
    return "".join(ch if ch.isalnum() else "_" for ch in name)[:limit] or "dataset"
