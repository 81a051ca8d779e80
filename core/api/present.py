"""What the store and the detection run return -> the response bodies of ``schemas``."""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.api.schemas.common import iso, number
from core.store.records import Meter
from core.store.runs import Run, StoredEvent


def meter_out(meter: Meter) -> dict[str, Any]:
    return meter.to_dict()


def run_out(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "meter": run.meter,
        "detector": run.detector,
        "threshold": run.threshold,
        "model_id": run.model_id,
        "data_from": iso(run.data_from),
        "data_to": iso(run.data_to),
        "points": run.points,
        "flagged": run.flagged,
        "events": run.events,
        "energy_unit": run.energy_unit,
        "created": run.created.isoformat(),
    }


def events_out(events: pd.DataFrame, run_id: int) -> list[dict[str, Any]]:
    """``SqlRunRepository.events(run, ids=True)`` rows as ``EventOut``."""
    return [
        {
            "id": int(e.id),
            "run_id": run_id,
            "start": iso(e.start),
            "end": iso(e.end),
            "type": str(e.type),
            "peak_score": number(e.peak_score),
            "mean_score": number(e.mean_score),
            "excess": number(e.excess),
            "cause": None if pd.isna(e.cause) else str(e.cause),
        }
        for e in events.itertuples(index=False)
    ]


def event_label_out(label_id: int, event: StoredEvent, verdict: str, note, author) -> dict:
    return {
        "id": label_id,
        "meter": event.meter,
        "start": iso(event.start),
        "end": iso(event.end),
        "verdict": verdict,
        "note": note,
        "author": author,
        "event_id": event.id,
    }


def labels_out(labels: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "start": iso(r.start),
            "end": iso(r.end),
            "verdict": str(r.verdict),
            "note": None if pd.isna(r.note) else str(r.note),
            "author": None if pd.isna(r.author) else str(r.author),
            "created": iso(r.created),
        }
        for r in labels.itertuples(index=False)
    ]


def readings_out(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Readings as ``{timestamp, value, <covariate>: ...}``; NaN -> null."""
    times = [t.isoformat() for t in frame.index]
    columns = {c: [number(x) for x in frame[c].to_numpy(dtype=float)] for c in frame.columns}
    out = []
    for i, when in enumerate(times):
        row: dict[str, Any] = {"timestamp": when}
        for name, values in columns.items():
            if name == "value" or values[i] is not None:
                row[name] = values[i]
        out.append(row)
    return out
