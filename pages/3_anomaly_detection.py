"""Anomaly detection: the threshold studio. Fit once (cached), then every slider only re-thresholds."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from core.charts import report
from core.charts.figures import anomaly_figure
from core.charts.tables import (
    EVENT_TABLE_COLUMNS,
    date_window,
    detector_settings,
    event_window,
    events_table,
    file_stem,
    metrics_lines,
    metrics_table,
    summary_counts,
)
from core.detect.detectors import REGISTRY
from core.detect.evaluation import evaluate
from core.detect.pipeline import DetectorSettings
from core.detect.thresholds import ThresholdSettings
from core.ui import cache
from core.ui.shell import current_dataset, current_ref, describe, plotly_template, require_router

require_router()

MODES = {
    "sigma": "Calibrated score (sigma)",
    "percentile": "Percentile (contamination)",
    "dynamic": "Dynamic (telemanom)",
    "per_month": "At most N alerts per month",
}
DIRECTIONS = {"both": "Both", "over": "Over-use only", "under": "Under-use only"}
DEFAULT_K = ThresholdSettings().k

ds = current_dataset()
ref = current_ref()
template = plotly_template()

st.title("Anomaly detection")
st.caption(f"{ds.name}: {len(ds.frame):,} readings in {ds.unit}. Red points are anomalies.")

# ---- controls -----------------------------------------------------------------------------------
names = list(REGISTRY)
st.session_state.setdefault("detect_detectors", ["ensemble"] if "ensemble" in names else names[:1])
c1, c2, c3 = st.columns([1.2, 1, 1])
with c1:
    chosen = st.multiselect(
        "Detectors",
        names,
        key="detect_detectors",
        format_func=lambda n: REGISTRY[n].title or n,
        help="One detector, or several combined as an ensemble (mean of calibrated scores).",
    )
    mode = st.selectbox("Threshold mode", list(MODES), format_func=MODES.get, key="detect_mode")
with c2:
    k, percentile, per_month = DEFAULT_K, 99.0, 10
    if mode == "sigma":
        k = st.slider(
            "Score threshold (sigma)",
            1.0,
            8.0,
            float(DEFAULT_K),
            0.1,
            key="detect_k",
            help="Calibrated scale: about 1 % of training points score above 2.33, 0.1 % above 3.09.",
        )
    elif mode == "percentile":
        percentile = st.slider(
            "Flag scores above this percentile", 90.0, 99.9, 99.0, 0.1, key="detect_percentile"
        )
    elif mode == "per_month":
        per_month = st.slider("Alerts per month (at most)", 1, 60, 10, 1, key="detect_per_month")
    else:
        st.caption("Dynamic: the threshold follows the recent spread of the smoothed scores.")
    direction = st.radio(
        "Direction",
        list(DIRECTIONS),
        format_func=DIRECTIONS.get,
        horizontal=True,
        key="detect_direction",
    )
with c3:
    min_dev = st.number_input(
        f"Minimum deviation ({ds.unit})", min_value=0.0, value=0.0, step=1.0, key="detect_min_dev"
    )
    min_dev_pct = st.slider(
        "Minimum deviation (% of expected)", 0, 100, 0, 5, key="detect_min_dev_pct"
    )

if not chosen:
    st.info("Pick at least one detector.")
    st.stop()

det_settings: DetectorSettings = detector_settings(chosen)
th = ThresholdSettings(
    mode=mode,
    k=float(k),
    percentile=float(percentile),
    alerts_per_month=int(per_month),
    direction=direction,
    min_deviation=float(min_dev),
    min_deviation_pct=float(min_dev_pct),
)

# ---- fit (cached: memory, then disk) --------------------------------------------------------------
if not cache.model_ready(ref, det_settings):
    label = ", ".join(REGISTRY[n].title or n for n in chosen)
    with st.status(f"Preparing {label}…", expanded=True) as status:
        bar = st.progress(0.0, text="Loading a saved model or fitting a new one")

        def _progress(fraction: float, message: str) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

        try:
            cache.fitted_detector(ref, det_settings, progress=_progress)
        except ValueError as err:
            status.update(label="Could not fit the detector", state="error")
            st.error(f"{err}")
            st.stop()
        except Exception as err:  # keep the page up; say what failed in one line
            status.update(label="Could not fit the detector", state="error")
            st.error(f"{type(err).__name__}: {str(err).splitlines()[0][:300] if str(err) else ''}")
            st.stop()
        status.update(label=f"{label}: ready", state="complete", expanded=False)
try:
    scored = cache.scored(ref, det_settings)
except Exception as err:  # e.g. a saved model that no longer matches its detector's code
    st.error(
        f"Scoring failed: {type(err).__name__}: {str(err).splitlines()[0][:300] if str(err) else ''}"
    )
    st.stop()

# ---- threshold -> flags -> events (cheap: every slider move) -------------------------------------
flags, events, energy_unit = cache.flagged(ref, det_settings, th)

first, last = scored.index[0].date(), scored.index[-1].date()
o1, o2, o3 = st.columns([2, 1, 1])
picked = o1.date_input(
    "Date range",
    value=(first, last),
    min_value=first,
    max_value=last,
    key=f"detect_range_{ds.digest[:12]}",  # per dataset: another file has other dates
)
show_anomalies = o2.toggle("Show anomalies", value=True, key="detect_show")
show_band = o3.toggle("Show expected range", value=True, key="detect_band")
start, end = picked if isinstance(picked, tuple) and len(picked) == 2 else (first, last)
view, view_flags, view_events = date_window(scored, flags, events, start, end)

counts = summary_counts(view, view_flags, view_events, ds.freq)
m = st.columns(4)
m[0].metric("Alerts per week", f"{counts['alerts_per_week']:.1f}")
m[1].metric("Events", f"{counts['events']:,}")
m[2].metric("Flagged readings", f"{counts['flagged']:,}")
m[3].metric(f"Excess flagged ({energy_unit})", f"{counts['excess']:,.1f}")

# the table's key changes with the settings, so a stale selection never points at another event
table_key = (
    "detect_events_"
    + hashlib.sha256(repr((ds.digest, det_settings, th, start, end)).encode()).hexdigest()[:12]
)
selection = st.session_state.get(table_key)
rows = list((selection or {}).get("selection", {}).get("rows", []))
table = events_table(view_events)
selected = view_events.iloc[rows[0]] if rows and rows[0] < len(view_events) else None

x_range = event_window(selected, ds.freq) if selected is not None else None
fig = anomaly_figure(
    view,
    view_flags,
    view_events,
    unit=ds.unit,
    show_anomalies=show_anomalies,
    show_band=show_band,
    x_range=x_range,
    template=template,
)
st.plotly_chart(fig, key="detect_chart", config={"displaylogo": False})

if ds.has_labels:
    st.subheader("Against the labels")
    scores = view["score"]
    result = evaluate(view["label"], scores, view_flags)
    st.caption(
        "Point-wise and event-wise scores against the file's anomaly labels, beside a random "
        "detector that flags the same number of readings. Labels never train a model."
    )
    st.dataframe(
        metrics_table(result),
        hide_index=True,
        key="detect_metrics",
        column_config={
            "metric": st.column_config.TextColumn("Metric"),
            "detector": st.column_config.NumberColumn("These settings", format="%.3f"),
            "random": st.column_config.NumberColumn("Random baseline", format="%.3f"),
        },
    )

st.subheader(f"Events ({len(view_events)})")
if view_events.empty:
    st.info("No events at these settings. Lower the threshold or widen the date range.")
else:
    st.caption("Click a row to zoom the chart to it. Click a column header to sort.")
    st.dataframe(
        table,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=table_key,
        column_order=EVENT_TABLE_COLUMNS,
        column_config={
            "start": st.column_config.DatetimeColumn("Start", format="YYYY-MM-DD HH:mm"),
            "end": st.column_config.DatetimeColumn("End", format="YYYY-MM-DD HH:mm"),
            "duration_h": st.column_config.NumberColumn("Duration (h)", format="%.1f"),
            "type": st.column_config.TextColumn("Type"),
            "excess": st.column_config.NumberColumn(f"Excess ({energy_unit})", format="%.2f"),
            "cause": st.column_config.TextColumn("Cause", width="large"),
        },
    )
    if selected is not None:
        start_iso = pd.Timestamp(selected["start"]).isoformat()
        st.markdown(f"**Selected:** {selected['type']} from {start_iso}. {selected['cause']}")
        if st.button("Explain this event", icon=":material/lightbulb:", key="detect_explain"):
            st.session_state["explain_event"] = start_iso
            st.switch_page("pages/4_explainability.py")

# ---- downloads ----------------------------------------------------------------------------------
st.subheader("Downloads")
settings_text = {
    "Detectors": ", ".join(REGISTRY[n].title or n for n in chosen),
    "Threshold": MODES[mode]
    + {
        "sigma": f", k = {k}",
        "percentile": f", {percentile}th",
        "per_month": f", {per_month}/month",
    }.get(mode, ""),
    "Direction": DIRECTIONS[direction],
    "Minimum deviation": f"{min_dev} {ds.unit} and {min_dev_pct} % of expected",
    "Date range": f"{start} to {end}",
}
metrics_for_pdf = metrics_lines(result) if ds.has_labels else None
stem = file_stem(ds.name)
can_png = report.browser_path() is not None


def _png() -> bytes:
    return report.figure_png(fig)


def _pdf() -> bytes:
    png = None
    if can_png:
        try:
            png = report.figure_png(fig)
        except report.ChartExportError:
            png = None
    return report.pdf_report(
        title=f"WattsUp anomaly report: {ds.name}",
        dataset=describe(ds),
        settings=settings_text,
        events=view_events,
        metrics=metrics_for_pdf,
        chart_png=png,
    )


d = st.columns(4)
d[0].download_button(
    "Events CSV",
    report.events_csv(view_events),
    file_name=f"{stem}_events.csv",
    mime="text/csv",
    key="detect_dl_events",
    on_click="ignore",
    icon=":material/download:",
)
d[1].download_button(
    "Per-point flags CSV",
    lambda: report.flags_csv(view, view_flags, view_events),
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
