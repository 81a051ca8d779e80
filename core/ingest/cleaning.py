"""Typed rows -> the canonical regular frame, writing down every change in plain words.

Order matters and is fixed: sort, average duplicated timestamps, put readings on the grid of the
inferred step, measure (gaps, negatives, zero and flat runs, cumulative register), optionally turn
a register into use per step, optionally resample, then fill short gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.errors import DataError
from core.ingest import quality as q
from core.ingest.columns import ENERGY_UNITS, is_submeter

MAX_SPAN_YEARS = 200  # PJM's 16 years fit many times over; int64 nanoseconds end at ~292
MAX_SPAN = pd.Timedelta(days=365.25 * MAX_SPAN_YEARS)
MAX_GRID_FACTOR = 20  # a grid this many times longer than the readings means stray dates, not gaps
ONE_TIMESTAMP = "All readings share one timestamp: upload at least a few days of readings."


@dataclass
class Cleaned:
    frame: pd.DataFrame
    freq: pd.Timedelta
    fields: dict[str, Any] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_freq(freq: str) -> pd.Timedelta:
    """``"1h"``, ``"15min"``, ``"1D"`` (or ``"h"``) -> Timedelta; anything else is a DataError."""
    text = freq.strip()
    try:
        step = pd.Timedelta(text if text[:1].isdigit() else f"1{text}")
    except (ValueError, TypeError):
        step = None
    if step is None or step <= pd.Timedelta(0):
        raise DataError(
            f"Resampling step {freq!r} is not understood: use one like 15min, 30min, 1h or 1D."
        )
    return step


def clean(frame: pd.DataFrame, unit: str, options) -> Cleaned:
    """``frame``: DatetimeIndex without NaT, float ``value``, covariates, optional ``label``."""
    out = Cleaned(frame, pd.Timedelta(0))
    frame = _sort(frame, out)
    frame = _dedupe(frame, out)
    step = q.infer_step(frame.index.asi8)
    if step is None:
        raise DataError(ONE_TIMESTAMP)
    frame = _to_grid(frame, step, out)
    values = frame["value"].to_numpy(dtype="float64")
    cumulative = q.is_cumulative(values)
    out.fields["cumulative_register"] = cumulative
    out.fields["register_resets"] = 0
    if cumulative and options.cumulative_to_interval:
        interval, resets = q.register_to_interval(values)
        frame["value"] = interval
        values = interval
        out.fields["register_resets"] = resets
        out.changes.append(
            "Turned the cumulative meter register into use per step by differencing consecutive readings"
            + (f"; treated {resets} drops as meter resets/rollovers" if resets else "")
            + "."
        )
    elif cumulative:
        out.warnings.append(
            "The values only go up, like a cumulative meter register: turn on 'cumulative to interval' to analyse use per step."
        )
    out.fields["negative_values"] = int((values < 0).sum())
    out.fields["zero_runs"] = q.zero_runs(frame.index, values)
    out.fields["flat_runs"] = q.flat_runs(frame.index, values, step)
    out.fields["missing_total"] = int(np.isnan(values).sum())
    if options.freq is not None:
        frame, step = _resample(frame, step, parse_freq(options.freq), unit, out)
    else:
        out.fields["resampled"] = None
    frame = _fill(frame, options.fill_limit, step, out)
    out.frame, out.freq = frame, step
    return out


def _sort(frame: pd.DataFrame, out: Cleaned) -> pd.DataFrame:
    ns = frame.index.asi8
    unsorted = int((np.diff(ns) < 0).sum())
    out.fields["unsorted_rows"] = unsorted
    if unsorted:
        frame = frame.sort_index(kind="stable")
        out.changes.append(
            f"Sorted the rows by time ({unsorted} rows came earlier than the row before them)."
        )
    return frame


def _dedupe(frame: pd.DataFrame, out: Cleaned) -> pd.DataFrame:
    dup = frame.index.duplicated()
    report = q.duplicates(frame.index, dup)
    out.fields["duplicate_timestamps"] = report
    if not report["count"]:
        return frame
    agg = {c: ("max" if c == "label" else "mean") for c in frame.columns}
    frame = frame.groupby(level=0, sort=True).agg(agg)
    why = (
        " (daylight-saving fall-back hours)"
        if report["dst_fall_back"] == report["timestamps"]
        else ""
    )
    out.changes.append(
        f"Averaged {report['count']} duplicated timestamps{why}, e.g. {report['examples'][0]}."
    )
    return frame


def _to_grid(frame: pd.DataFrame, step: pd.Timedelta, out: Cleaned) -> pd.DataFrame:
    ns = frame.index.asi8
    step_ns = step.value
    offset = (ns - ns[0]) % step_ns
    diffs = np.diff(ns)
    irregular = int((diffs % step_ns != 0).sum())
    off_grid = int((offset != 0).sum())
    out.fields["step"] = q.step_label(step)
    out.fields["step_seconds"] = step.total_seconds()
    out.fields["irregular_steps"] = {"count": irregular, "off_grid_rows": off_grid}
    if int(ns[-1]) - int(ns[0]) > MAX_SPAN.value:  # past ~292 years nanoseconds overflow
        raise DataError(
            f"Timestamps run from {q.fmt_time(frame.index[0])} to {q.fmt_time(frame.index[-1])}, over "
            f"{MAX_SPAN_YEARS} years: WattsUp reads up to {MAX_SPAN_YEARS} years of readings; check for "
            "mistyped dates (a wrong year?) or upload a shorter period."
        )
    span = (int(ns[-1]) - int(ns[0])) // step_ns
    if span > MAX_GRID_FACTOR * ns.size + 100_000:
        raise DataError(
            f"Timestamps run from {q.fmt_time(frame.index[0])} to {q.fmt_time(frame.index[-1])}: at the {q.step_label(step)} step "
            f"that is {int(span) + 1} steps for {ns.size} readings; check for mistyped dates (a wrong year?)."
        )
    if off_grid:
        agg = {c: ("max" if c == "label" else "mean") for c in frame.columns}
        frame = frame.resample(step, origin=frame.index[0]).agg(agg)
        out.changes.append(
            f"Moved {off_grid} readings that were off the {q.step_label(step)} grid onto the step they fall in (averaged per step)."
        )
        present = frame.notna().any(axis=1).to_numpy()
    else:
        positions = (ns - ns[0]) // step_ns
        present = np.zeros(int(positions[-1]) + 1, dtype=bool)
        present[positions] = True
        grid = pd.date_range(frame.index[0], periods=present.size, freq=step, name="timestamp")
        if not present.all():
            frame = frame.reindex(grid)
        else:
            frame.index = grid
    frame.index.name = "timestamp"
    out.fields["gaps"] = q.gaps(frame.index, ~present, step)
    return frame


def _resample(
    frame: pd.DataFrame, step: pd.Timedelta, target: pd.Timedelta, unit: str, out: Cleaned
) -> tuple[pd.DataFrame, pd.Timedelta]:
    if target < step:
        raise DataError(
            f"Cannot resample {q.step_label(step)} readings to {q.step_label(target)}: choose a step of {q.step_label(step)} or longer."
        )
    if target == step:
        out.fields["resampled"] = None
        return frame, step
    energy = unit in ENERGY_UNITS
    per_bin = max(1, int(round(target / step)))
    rs = frame.resample(target)
    parts = {"value": rs["value"].sum(min_count=per_bin) if energy else rs["value"].mean()}
    for col in frame.columns:
        if col == "label":
            parts[col] = rs[col].max()
        elif energy and is_submeter(col):  # a sub-meter is a part of the meter: summed alike
            parts[col] = rs[col].sum(min_count=per_bin)
        elif col != "value":
            parts[col] = rs[col].mean()
    counts = rs["value"].count()
    new = pd.DataFrame(parts)[list(frame.columns)]
    new.index.name = "timestamp"
    incomplete = int(((counts < per_bin) & (counts > 0)).sum())
    how = "sum" if energy else "mean"
    out.fields["resampled"] = {
        "from": q.step_label(step),
        "to": q.step_label(target),
        "how": how,
        "incomplete_bins": incomplete,
    }
    words = (
        f"summed the energy readings ({unit}) in each step"
        if energy
        else f"averaged the power readings ({unit}) in each step"
    )
    tail = (
        f"; {incomplete} steps with readings missing were left empty"
        if energy and incomplete
        else ""
    )
    out.changes.append(
        f"Resampled from {q.step_label(step)} to {q.step_label(target)}: {words}{tail}."
    )
    return new, target


def _fill(frame: pd.DataFrame, limit: int, step: pd.Timedelta, out: Cleaned) -> pd.DataFrame:
    """Interpolate NaN runs of at most ``limit`` steps that have readings on both sides."""
    values = frame["value"].to_numpy(dtype="float64")
    starts, lengths = q.runs(np.isnan(values))
    inside = (starts > 0) & (starts + lengths < values.size)
    short = inside & (lengths <= limit)
    long_gaps = int((lengths > limit).sum() + (~inside & (lengths <= limit)).sum())
    filled = int(lengths[short].sum())
    if filled:
        sel_starts, sel_len = starts[short], lengths[short]
        within = np.arange(filled) - np.repeat(np.cumsum(sel_len) - sel_len, sel_len)
        mask = np.zeros(values.size, dtype=bool)
        mask[np.repeat(sel_starts, sel_len) + within] = True
        cols = [c for c in frame.columns if c != "label"]
        interp = frame[cols].interpolate(method="time", limit_area="inside")
        frame = frame.copy()
        frame.loc[mask, cols] = interp.loc[mask, cols]
        out.changes.append(
            f"Filled {filled} missing steps in {int(short.sum())} short gaps (at most {limit} steps) by time interpolation"
            + (f"; {long_gaps} longer gaps left missing" if long_gaps else "")
            + "."
        )
    elif long_gaps:
        out.changes.append(
            f"Left {long_gaps} gaps longer than {limit} steps missing (no reading invented)."
        )
    out.fields["filled_steps"] = filled
    return frame
