"""Downloads built server-side: CSV (formula cells escaped), chart PNG (kaleido) and a PDF report (fpdf2).

A CSV cell that starts with ``= + - @`` (or a tab / carriage return) is run as a formula by spreadsheet
programs; such text cells get a leading apostrophe (OWASP "CSV injection"). Numbers stay numbers.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from core.charts.tables import by_impact, severity, type_name

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")


class ChartExportError(RuntimeError):
    """The chart could not be rendered to an image (usually: no Chrome/Chromium for kaleido)."""


# ---- CSV ------------------------------------------------------------------------------------------
def escape_cell(value: Any) -> Any:
    """Prefix an apostrophe to text that a spreadsheet would run as a formula; other values pass."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def escaped_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell (and column name) escaped."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if isinstance(values.dtype, pd.StringDtype):  # text only: escape the column at once
            risky = values.str.startswith(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool)
            if risky.any():
                out[col] = values.where(~risky, "'" + values)
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            out[col] = values.map(escape_cell)
    out.columns = [escape_cell(str(c)) for c in out.columns]
    return out


def csv_bytes(frame: pd.DataFrame, *, index: bool = False) -> bytes:
    """UTF-8 CSV of ``frame`` with formula cells escaped; datetimes as ISO 8601."""
    out = escaped_frame(frame.reset_index() if index else frame)
    return out.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S%z").encode("utf-8")


def events_csv(events: pd.DataFrame) -> bytes:
    """The events table as CSV."""
    return csv_bytes(events)


def flags_frame(
    scored: pd.DataFrame, flags: pd.Series, events: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per point: time, actual, expected, bounds, score, flag, and its event's type/cause."""
    from core.charts.series import point_events

    cols = [c for c in ("value", "expected", "lower", "upper", "score", "label") if c in scored]
    out = scored[cols].copy()
    out["flag"] = flags.reindex(scored.index, fill_value=False).fillna(False).astype(bool)
    info = point_events(scored.index[out["flag"].to_numpy()], events)
    out["type"] = ""
    out["cause"] = ""
    out.loc[info.index, "type"] = info["type"]
    out.loc[info.index, "cause"] = info["cause"]
    out.index.name = "timestamp"
    return out.reset_index()


def flags_csv(scored: pd.DataFrame, flags: pd.Series, events: pd.DataFrame | None = None) -> bytes:
    """The per-point flags as CSV."""
    return csv_bytes(flags_frame(scored, flags, events))


# ---- PNG ------------------------------------------------------------------------------------------
def browser_path() -> str | None:
    """A Chrome/Chromium binary kaleido can drive, if one is installed."""
    env = os.environ.get("BROWSER_PATH")
    if env and Path(env).is_file():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def figure_png(
    fig: go.Figure, *, width: int = 1200, height: int = 520, scale: float = 1.0
) -> bytes:
    """Render ``fig`` to PNG bytes with kaleido; ``ChartExportError`` (one line) when it cannot."""
    path = browser_path()
    if path and not os.environ.get("BROWSER_PATH"):
        os.environ["BROWSER_PATH"] = path  # choreographer (kaleido's driver) reads this
    if fig.layout.template.layout.paper_bgcolor is None:  # no template: exports are light
        fig = go.Figure(fig).update_layout(template="plotly_white")
    try:
        return fig.to_image(format="png", width=width, height=height, scale=scale)
    except (
        Exception
    ) as err:  # kaleido raises several types (ChromeNotFoundError, RuntimeError, ...)
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ChartExportError(f"chart image unavailable: {first[:200]}") from err


# ---- PDF ------------------------------------------------------------------------------------------
def _unicode_font(pdf: FPDF) -> str:
    for folder in _FONT_DIRS:
        regular, bold = Path(folder, "DejaVuSans.ttf"), Path(folder, "DejaVuSans-Bold.ttf")
        if regular.is_file() and bold.is_file():
            pdf.add_font("DejaVu", "", str(regular))
            pdf.add_font("DejaVu", "B", str(bold))
            return "DejaVu"
    return "Helvetica"


def _text(value: Any, font: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float):
        text = f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    elif isinstance(value, pd.Timestamp | datetime):
        text = pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")
    else:
        text = str(value)
    if font == "Helvetica":  # core fonts are latin-1 only
        text = text.encode("latin-1", "replace").decode("latin-1")
    return text


def pdf_report(
    *,
    title: str,
    dataset: Mapping[str, Any],
    settings: Mapping[str, Any],
    events: pd.DataFrame,
    metrics: Mapping[str, Any] | None = None,
    chart_png: bytes | None = None,
    max_event_rows: int = 200,
    unit: str = "",
    top: int = 10,
) -> bytes:
    """A PDF: title, dataset facts, chart image (when given), settings, metrics, the ``top`` events
    by energy impact, then the events table by date (at most ``max_event_rows``).

    ``unit`` is the events' energy unit (``events.attrs["energy_unit"]`` when not given): it heads
    the energy column. Types are named as the page names them, each event with its severity.
    """
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    font = _unicode_font(pdf)
    pdf.add_page()
    pdf.set_font(font, "B", 16)
    pdf.cell(0, 10, _text(title, font), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(font, "", 9)
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    pdf.cell(
        0, 5, _text(f"Generated {stamp} by WattsUp", font), new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    _pairs(pdf, font, "Dataset", dataset)
    if chart_png:
        import io

        pdf.ln(2)
        pdf.image(io.BytesIO(chart_png), w=pdf.epw, h=105, keep_aspect_ratio=True)
    _pairs(pdf, font, "Settings", settings)
    if metrics:
        _pairs(pdf, font, "Metrics", metrics)
    unit = unit or str(events.attrs.get("energy_unit", ""))
    if len(events) > 1 and top > 0:
        _events_table(
            pdf,
            font,
            by_impact(events).head(top),
            top,
            unit,
            heading=f"Top {min(top, len(events))} by energy impact",
        )
    _events_table(pdf, font, events, max_event_rows, unit)
    return bytes(pdf.output())


def _heading(pdf: FPDF, font: str, text: str) -> None:
    pdf.ln(3)
    pdf.set_font(font, "B", 12)
    pdf.cell(0, 7, _text(text, font), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(font, "", 9)


def _pairs(pdf: FPDF, font: str, heading: str, pairs: Mapping[str, Any]) -> None:
    _heading(pdf, font, heading)
    with pdf.table(col_widths=(1, 3), first_row_as_headings=False, line_height=5) as table:
        for key, value in pairs.items():
            row = table.row()
            row.cell(_text(key, font))
            row.cell(_text(value, font))


EVENT_COLUMNS = ("start", "end", "duration_h", "type", "severity", "excess", "peak_score", "cause")


def _events_table(
    pdf: FPDF,
    font: str,
    events: pd.DataFrame,
    max_rows: int,
    unit: str = "",
    heading: str | None = None,
) -> None:
    shown = min(len(events), max_rows)
    if heading is None:
        more = f", the first {shown} by date" if shown < len(events) else ""
        heading = f"Events ({len(events)}{more})"
    _heading(pdf, font, heading)
    if events.empty:
        pdf.cell(0, 6, "No events at these settings.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    events = events.head(max_rows).copy()
    if "type" in events:
        events["severity"] = severity(events)
        events["type"] = events["type"].map(type_name)
    cols = [c for c in EVENT_COLUMNS if c in events.columns]
    widths = {
        "start": 3,
        "end": 3,
        "duration_h": 1.6,
        "type": 2.6,
        "severity": 1.6,
        "excess": 2.2,
        "peak_score": 1.6,
        "cause": 9,
    }
    titles = {
        "duration_h": "hours",
        "excess": f"energy ({unit})" if unit else "energy",
        "peak_score": "peak score",
    }
    pdf.set_font(font, "", 8)
    with pdf.table(col_widths=tuple(widths.get(c, 2) for c in cols), line_height=4.5) as table:
        head = table.row()
        for c in cols:
            head.cell(titles.get(c, c.replace("_", " ")))
        for _, ev in events.iterrows():
            row = table.row()
            for c in cols:
                value = ev[c]
                if c == "excess" and isinstance(value, float) and np.isfinite(value):
                    value = f"{value:+,.1f}"
                row.cell(_text(value, font))
