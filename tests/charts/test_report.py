"""Downloads: CSV cells a spreadsheet would run are escaped, the PDF is valid and holds the events."""

from __future__ import annotations

import io

import pandas as pd
import plotly.graph_objects as go
import pytest
from pypdf import PdfReader

from core.charts.report import (
    ChartExportError,
    browser_path,
    csv_bytes,
    escape_cell,
    figure_png,
    flags_csv,
    pdf_report,
)


def _events() -> pd.DataFrame:
    start = pd.Timestamp("2024-03-01 02:00")
    return pd.DataFrame(
        {
            "event_id": [1, 2],
            "start": [start, start + pd.Timedelta("2D")],
            "end": [start + pd.Timedelta("3h"), start + pd.Timedelta("2D3h")],
            "duration_h": [4.0, 4.0],
            "type": ["off_hours", "spike"],
            "excess": [-12.5, 40.25],
            "peak_score": [4.2, 6.1],
            "cause": ["=cmd|' /C calc'!A0", "Night-time use 3x the usual (°C: 4)"],
        }
    )


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+A1", "'+A1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("spike", "spike"),
        (-5.0, -5.0),
        (3, 3),
    ],
)
def test_escape_cell(cell, expected):
    """Text starting with = + - @ tab or CR gets an apostrophe; numbers pass unchanged."""
    assert escape_cell(cell) == expected


def test_events_csv_escapes_formula_cells_and_keeps_numbers():
    """The events CSV neutralises a formula in the cause column; negative numbers stay numeric."""
    text = csv_bytes(_events()).decode()
    assert "'=cmd|' /C calc'!A0" in text
    back = pd.read_csv(io.StringIO(text))
    assert back["excess"].tolist() == [-12.5, 40.25]
    assert not any(str(c).startswith("=") for c in back["cause"])


def test_flags_csv_has_one_row_per_point_with_event_cause():
    """Per-point CSV: one row per timestamp, flags as booleans, the event cause on flagged rows."""
    idx = pd.date_range("2024-03-01", periods=72, freq="1h", name="timestamp")
    scored = pd.DataFrame({"value": 1.0, "expected": 1.0, "score": 0.0}, index=idx)
    flags = pd.Series(False, index=idx)
    flags.iloc[2:6] = True
    back = pd.read_csv(io.BytesIO(flags_csv(scored, flags, _events())))
    assert len(back) == 72 and back["flag"].sum() == 4
    assert back.loc[2, "cause"].startswith("'=cmd")


def test_pdf_is_valid_and_contains_events_table():
    """The PDF opens with pypdf and its text holds the settings, metrics and every event's type."""
    pdf = pdf_report(
        title="WattsUp anomaly report",
        dataset={"Name": "building", "Rows": "8,784"},
        settings={"Detector": "Ensemble", "Threshold": "sigma k=3.0"},
        events=_events(),
        metrics={"F1": 0.5},
    )
    assert pdf.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for word in ("WattsUp anomaly report", "Ensemble", "Out-of-hours use", "Spike", "Night-time"):
        assert word in text
    assert "F1" in text


def test_pdf_with_no_events_says_so():
    """An empty events table is stated in words rather than an empty grid."""
    pdf = pdf_report(title="r", dataset={}, settings={}, events=_events().iloc[:0])
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "No events" in text


def test_figure_png_or_clear_error():
    """With a browser, kaleido gives a PNG (and the PDF embeds it); without, a one-line ChartExportError."""
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2]))
    if browser_path() is None:
        with pytest.raises(ChartExportError):
            figure_png(fig)
        return
    png = figure_png(fig, width=400, height=300)
    assert png.startswith(b"\x89PNG")
    pdf = pdf_report(title="r", dataset={}, settings={}, events=_events(), chart_png=png)
    assert (
        len(PdfReader(io.BytesIO(pdf)).pages[0].images) == 1
    )  # on the first page, beside the facts


def test_pdf_from_real_events_holds_the_table(shared_data):
    """Events found on a real LEAD meter go into the PDF table: every type and the first cause."""
    from core.detect.events import find_events
    from core.detect.pipeline import DetectorSettings, make_detector
    from core.detect.scoring import score_frame
    from core.detect.thresholds import ThresholdSettings, flag_points
    from core.ingest.data import parse_upload

    path = shared_data / "lead_dev" / "building_1074.csv"
    ds = parse_upload(path.read_bytes(), path.name)
    scored = score_frame(make_detector(DetectorSettings("rolling_z")).fit(ds.frame), ds.frame)
    flags = flag_points(scored, ThresholdSettings(mode="percentile", percentile=99.5))
    events = find_events(scored, flags, freq=ds.freq, unit=ds.unit)
    assert len(events) > 0
    pdf = pdf_report(title="LEAD 1074", dataset={"Name": ds.name}, settings={}, events=events)
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)
    from core.charts.tables import type_name

    for kind in events["type"].unique():
        assert type_name(kind) in text  # named as the page names it
    assert " ".join(str(events["cause"].iloc[0]).split()[:4]) in text
