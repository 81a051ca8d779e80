"""Small, UI-free shapes the pages show: tables, counters, windows. Pure, so they are tested without a page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

EVENT_TABLE_COLUMNS = ["start", "type", "severity", "change_pct", "excess", "duration_h", "cause"]

# What each event type (``core.detect.events.TYPES``) is called where a person reads it.
TYPE_NAMES = {
    "spike": "Spike",
    "dip": "Dip",
    "drop_to_zero": "Drop to zero",
    "flat": "Flat line (stuck meter?)",
    "level_shift": "Level shift",
    "off_hours": "Out-of-hours use",
    "holiday": "Public holiday",
}
# Severity from how far the event's energy is from what was expected (|excess| / expected): a
# "spike" of 1.1x the usual load is Low, a building at half its load for a day High. A drop to
# zero or a stuck meter is High whatever the energy: the data itself is lost.
SEVERITY_STEPS = ((0.5, "High"), (0.2, "Medium"), (0.0, "Low"))
ALWAYS_HIGH = {"drop_to_zero", "flat"}


def type_name(kind: str) -> str:
    """An event type as a person reads it ("level_shift" -> "Level shift")."""
    return TYPE_NAMES.get(str(kind), str(kind).replace("_", " ").capitalize())


def change_pct(events: pd.DataFrame) -> pd.Series:
    """Each event's energy against what was expected, in % (+10 = 1.1x the usual; NaN when the
    expected energy is zero or unknown)."""
    if not {"excess", "expected"} <= set(events.columns):
        return pd.Series(np.nan, index=events.index, dtype=float)
    expected = events["expected"].to_numpy(dtype=float)
    excess = events["excess"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(np.abs(expected) > 0, excess / np.abs(expected) * 100, np.nan)
    return pd.Series(pct, index=events.index, dtype=float)


def severity(events: pd.DataFrame) -> pd.Series:
    """High / Medium / Low per event (``SEVERITY_STEPS``; drops to zero and flat lines are High)."""
    share = change_pct(events).abs().to_numpy() / 100
    out = np.full(len(events), "Low", dtype=object)
    for limit, name in reversed(SEVERITY_STEPS):
        out[np.nan_to_num(share, nan=0.0) >= limit] = name
    if "type" in events:
        out[events["type"].astype(str).isin(ALWAYS_HIGH).to_numpy()] = "High"
    return pd.Series(out, index=events.index, dtype=object)


def by_impact(events: pd.DataFrame) -> pd.DataFrame:
    """``events`` ordered by energy impact (|excess|, largest first), ties by start time."""
    if events.empty or "excess" not in events:
        return events
    order = np.lexsort(
        (pd.to_datetime(events["start"]).to_numpy(), -events["excess"].abs().to_numpy(dtype=float))
    )
    return events.iloc[order]


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
    """The events as the page lists them, largest energy impact first: start, end, human type,
    severity, change against expected (%), excess, duration and cause. The index holds each row's
    position in ``events`` (the page maps a selected row back with it)."""
    out = events.reset_index(drop=True).copy()
    if "type" in out:
        out["severity"] = severity(out)
        out["type"] = out["type"].map(type_name)
    out["change_pct"] = change_pct(out)
    for c in ("start", "end"):
        if c in out:
            out[c] = pd.to_datetime(out[c])
    cols = [c for c in ("start", "end", *EVENT_TABLE_COLUMNS[1:]) if c in out.columns]
    return by_impact(out)[cols]


def event_window(
    event: pd.Series, freq: pd.Timedelta, pad_steps: int = 24
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """A chart x-range around one event: the event plus ``pad_steps`` readings (at least 6 h) each side."""
    pad = max(pd.Timedelta(freq) * pad_steps, pd.Timedelta(hours=6))
    return pd.Timestamp(event["start"]) - pad, pd.Timestamp(event["end"]) + pad


def summary_counts(
    scored: pd.DataFrame, flags: pd.Series, events: pd.DataFrame, freq: pd.Timedelta
) -> dict[str, Any]:
    """Live counters: events, alerts (events) per week, flagged readings, and the events' energy
    apart by sign: ``over`` (over-use, the sum of positive excess), ``under`` (under-use, the sum of
    negative excess, a negative number); ``excess`` is ``over`` (kept for callers that read it)."""
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
        "over": float(np.nansum(excess[excess > 0])) if excess.size else 0.0,
        "under": float(np.nansum(excess[excess < 0])) if excess.size else 0.0,
    }


# A default tariff per energy unit, so a first look shows a cost (the page lets a person change it).
DEFAULT_TARIFF = {"Wh": 0.0002, "kWh": 0.20, "MWh": 200.0, "GWh": 200_000.0}


def energy_cost(energy: float, tariff: float) -> float:
    """What ``energy`` (in the events' energy unit) costs at ``tariff`` per unit; sign kept."""
    return float(energy) * float(tariff)


SIGMA_MIN, SIGMA_MAX = 1.0, 8.0  # the sigma slider's widest scale


def top_score(score: pd.Series) -> float:
    """The highest finite score (NaN when there is none)."""
    values = score.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else float("nan")


def score_ceiling(score: pd.Series) -> float:
    """Top of the sigma slider: the highest score rounded up to 0.1, so the slider's last step
    flags nothing and every step below it can; within ``SIGMA_MIN + 0.5 .. SIGMA_MAX``.

    Calibrated scores of the fitted data end near 3.29 (the 99.95th percentile); a scale that ran to 8
    showed 0 events over more than half of its length."""
    top = top_score(score)
    if not np.isfinite(top):
        return SIGMA_MAX
    return float(min(max(np.ceil(top * 10 - 1e-9) / 10, SIGMA_MIN + 0.5), SIGMA_MAX))


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
