"""The Anomaly detection page's downloads: the events CSV, the per-point flags CSV, the chart PNG and
the PDF report of one setting.

``report_settings(label, choice, unit, start, end, counts, energy_unit, tariff)`` is the settings
section of the PDF report, in words (detectors, threshold, direction, minimum deviation, dates,
public holidays, energy and its price). ``downloads(ds, fig, view, summary, metrics, energy_unit,
settings)`` draws the "Downloads" row; each file is built only when its button is clicked
(``on_click="ignore"``: no rerun). The PNG needs Chrome or Chromium on the server
(``core.ui.views.png_export_available``): without it a line says so, and the PDF goes without its
chart. The files themselves come from ``core.charts.report``.
"""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import streamlit as st

from core.charts import report
from core.charts.tables import file_stem, metrics_lines
from core.ingest.data import Dataset
from core.ui import views
from core.ui.shell import describe
from core.ui.studio_controls import DIRECTIONS, MODES, ThresholdChoice


def report_settings(
    label: str,
    choice: ThresholdChoice,
    unit: str,
    start: date,
    end: date,
    counts: dict,
    energy_unit: str,
    tariff: float,
) -> dict[str, str]:
    """The settings the PDF report lists, in words."""
    return {
        "Detectors": label,
        "Threshold": MODES[choice.mode]
        + {
            "sigma": f", k = {choice.k}",
            "percentile": f", {choice.percentile}th",
            "per_month": f", {choice.per_month}/month",
        }.get(choice.mode, ""),
        "Direction": DIRECTIONS[choice.direction],
        "Minimum deviation": f"{choice.min_dev} {unit} and {choice.min_dev_pct} % of expected",
        "Date range": f"{start} to {end}",
        "Public holidays": (choice.country or "none")
        + (" (counted as normal)" if choice.country and choice.holidays_normal else ""),
        "Energy": f"over-use {counts['over']:+,.1f} {energy_unit}, under-use "
        f"{counts['under']:+,.1f} {energy_unit}, priced at {tariff:g} per {energy_unit}",
    }


def downloads(
    ds: Dataset,
    fig: go.Figure,
    view: views.StudioView,
    summary: views.EventsSummary,
    metrics: dict[str, float] | None,
    energy_unit: str,
    settings: dict[str, str],
) -> None:
    """The Downloads row: events CSV, per-point flags CSV, chart PNG and PDF report."""
    st.subheader("Downloads")
    metrics_for_pdf = metrics_lines(metrics) if metrics is not None else None
    stem = file_stem(ds.name)
    can_png = views.png_export_available()

    def _png() -> bytes:
        return report.figure_png(fig)

    def _pdf() -> bytes:
        png = None
        if can_png:
            try:
                png = report.figure_png(fig)
            except report.ChartExportError:
                png = None
        meter = {"Meter": ds.schema.meter} if ds.schema.meter else {}  # a multi-meter file
        return report.pdf_report(
            title=f"WattsUp anomaly report: {ds.name}"
            + (f" ({ds.schema.meter})" if ds.schema.meter else ""),
            dataset={**describe(ds), **meter},
            settings=settings,
            events=view.events,
            metrics=metrics_for_pdf,
            chart_png=png,
            unit=energy_unit,
        )

    d = st.columns(4)
    d[0].download_button(
        "Events CSV",
        lambda: summary.csv,  # built with the summary; served when clicked
        file_name=f"{stem}_events.csv",
        mime="text/csv",
        key="detect_dl_events",
        on_click="ignore",
        icon=":material/download:",
    )
    d[1].download_button(
        "Per-point flags CSV",
        lambda: report.flags_csv(view.frame, view.flags, view.events),
        file_name=f"{stem}_flags.csv",
        mime="text/csv",
        key="detect_dl_flags",
        on_click="ignore",
        icon=":material/download:",
    )
    if can_png:
        d[2].download_button(
            "Chart PNG",
            _png,
            file_name=f"{stem}_chart.png",
            mime="image/png",
            key="detect_dl_png",
            on_click="ignore",
            icon=":material/image:",
        )
    else:
        d[2].info("Chart PNG needs Chrome or Chromium on the server (Debian package `chromium`).")
    d[3].download_button(
        "PDF report",
        _pdf,
        file_name=f"{stem}_report.pdf",
        mime="application/pdf",
        key="detect_dl_pdf",
        on_click="ignore",
        icon=":material/picture_as_pdf:",
    )
