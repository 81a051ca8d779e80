"""Anomaly detection: the threshold studio. Fit once (cached), then every slider only re-thresholds."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from core.charts import report
from core.charts.tables import (
    DEFAULT_TARIFF,
    EVENT_TABLE_COLUMNS,
    detector_settings,
    energy_cost,
    event_window,
    file_stem,
    metrics_lines,
    metrics_table,
    score_ceiling,
    top_score,
    type_name,
)
from core.detect.detectors import REGISTRY
from core.detect.evaluation import evaluate
from core.detect.pipeline import DetectorSettings
from core.detect.thresholds import ThresholdSettings
from core.ui import cache, views
from core.ui.hosting import LSTM, LSTM_OFF, available
from core.ui.labels import labels_section, with_label_shapes
from core.ui.settings import (
    DetectionChoice,
    detection_choice,
    holiday_choice,
    share_detection,
)
from core.ui.shell import current_dataset, current_ref, describe, plotly_template, require_router
from core.ui.state import kept
from core.ui.status import prepared, reported
from core.ui.text import md_escape

require_router()

MODES = {
    "sigma": "Calibrated score (sigma)",
    "percentile": "Percentile (contamination)",
    "dynamic": "Dynamic (telemanom)",
    "per_month": "At most N alerts per month",
}
DIRECTIONS = {"both": "Both", "over": "Over-use only", "under": "Under-use only"}
DEFAULT_K = ThresholdSettings().k
CHOOSE_AGAIN = "Pick other detectors and press Apply."
METRIC_W = 150  # px: four counters a row on a desktop, two on a 390 px phone

ds = current_dataset()
ref = current_ref()
template = plotly_template()

st.title("Anomaly detection")
st.caption(
    f"{md_escape(ds.name)}: {len(ds.frame):,} readings in {md_escape(ds.unit)}. Red points are anomalies."
)
if ref.source == "meter":  # runs are recorded on saved meters (core.ui.meters.record_run)
    st.caption(cache.last_run(ref))


# Everything below the caption is one fragment: a widget inside it (the threshold controls, the
# date range, the toggles, the events table, Apply) reruns only this function, not the router, the
# sidebar and the dataset lookup; the sidebar's dataset switch still reruns the whole page.
@st.fragment
def studio() -> None:
    """The threshold studio: controls, fit, counters, chart, events table and downloads."""
    # ---- controls -------------------------------------------------------------------------------
    # Every widget takes its value from session state through `kept`, so it survives a visit to
    # another page; a first visit starts from the shared choice (the defaults until this page writes
    # it). The detectors sit in a form: the page sees a change only on Apply, where each pick would
    # otherwise fit an intermediate ensemble, and a first visit runs the shared detectors at once.
    shared = detection_choice()
    names = available(REGISTRY)  # without the LSTM where it is off (core.ui.hosting)
    first_pick = [n for n in shared.detector_names() if n in names] or names[:1]
    base = shared.threshold

    # What a person looks at comes first (chart, then counters); the controls follow in an expander
    # (open), so a phone shows the chart before 750 px of controls. Containers fill in code order.
    chart_area = st.container()
    metrics_area = st.container()
    settings_area = st.expander("Detection settings", expanded=True, icon=":material/tune:")
    c1, c2, c3 = settings_area.columns([1.2, 1, 1])
    with c1:
        with st.form("detect_detectors_form", border=False):
            chosen = st.multiselect(
                "Detectors",
                names,
                key=kept("detect_detectors", first_pick),
                format_func=lambda n: REGISTRY[n].title or n,
                help="One detector, or several combined as an ensemble (mean of calibrated scores). "
                "Press Apply to fit them.",
            )
            st.form_submit_button("Apply", key="detect_apply")
        if LSTM not in names:
            st.caption(LSTM_OFF)
        mode = st.selectbox(
            "Threshold mode", list(MODES), format_func=MODES.get, key=kept("detect_mode", base.mode)
        )

    if not chosen:
        st.info("Pick at least one detector, then press Apply.")
        st.stop()

    label = ", ".join(REGISTRY[n].title or n for n in chosen)
    det_settings: DetectorSettings = detector_settings(chosen)
    # ---- fit (cached: memory, then disk), then score: the slider's scale comes from the scores ----
    # one box for both steps, so it says "scored" only once the scores exist (a 2.4 M-row file
    # spends as long scoring as fitting)
    if not cache.scored_ready(ref, det_settings):
        with chart_area:
            prepared(
                f"Preparing {label}",
                lambda progress: cache.prepared_scores(ref, det_settings, progress=progress),
                what_to_do=CHOOSE_AGAIN,
                ready=f"{label}: {len(ds.frame):,} readings scored",
            )
    # scoring can still fail, e.g. on a saved model that no longer matches its detector's code
    with reported("Scoring the readings", what_to_do=CHOOSE_AGAIN):
        scored = cache.scored(ref, det_settings)

    with c2:
        k, percentile, per_month = DEFAULT_K, 99.0, 10
        if mode == "sigma":
            # the slider ends just above the highest score here: past it nothing could be flagged
            top = score_ceiling(scored["score"])
            k_key = kept("detect_k", float(base.k))
            st.session_state[k_key] = min(float(st.session_state[k_key]), top)
            k = st.slider(
                "Score threshold (sigma)",
                1.0,
                top,
                step=0.1,
                key=k_key,
                help="Calibrated scale: about 1 % of training points score above 2.33, 0.1 % above "
                f"3.09. The highest score in this data is {top_score(scored['score']):.2f}, so the "
                "scale ends there.",
            )
        elif mode == "percentile":
            percentile = st.slider(
                "Flag scores above this percentile",
                90.0,
                99.9,
                step=0.1,
                key=kept("detect_percentile", float(base.percentile)),
            )
        elif mode == "per_month":
            per_month = st.slider(
                "Alerts per month (at most)",
                1,
                60,
                step=1,
                key=kept("detect_per_month", int(base.alerts_per_month)),
            )
        else:
            st.caption("Dynamic: the threshold follows the recent spread of the smoothed scores.")
        direction = st.radio(
            "Direction",
            list(DIRECTIONS),
            format_func=DIRECTIONS.get,
            horizontal=True,
            key=kept("detect_direction", base.direction),
        )
    with c3:
        min_dev = st.number_input(
            f"Minimum deviation ({ds.unit})",
            min_value=0.0,
            step=1.0,
            key=kept("detect_min_dev", float(base.min_deviation)),
        )
        min_dev_pct = st.slider(
            "Minimum deviation (% of expected)",
            0,
            100,
            step=5,
            key=kept("detect_min_dev_pct", int(base.min_deviation_pct)),
        )
        country, holidays_normal = holiday_choice(ds, ref)

    th = ThresholdSettings(
        mode=mode,
        k=float(k),
        percentile=float(percentile),
        alerts_per_month=int(per_month),
        direction=direction,
        min_deviation=float(min_dev),
        min_deviation_pct=float(min_dev_pct),
        country=country,
        holidays_normal=holidays_normal,
    )
    share_detection(DetectionChoice(det_settings, th))  # what Explainability and Live follow

    # ---- threshold -> flags -> events (cheap: every slider move) ---------------------------------
    with (
        reported("Finding the events", what_to_do=CHOOSE_AGAIN),
        st.spinner("Finding the events…"),
    ):
        flags, events, energy_unit = cache.flagged(ref, det_settings, th)

    first, last = scored.index[0].date(), scored.index[-1].date()
    chart_slot = chart_area.container()  # the chart, above the date range that shapes it
    o1, o2, o3 = chart_area.columns([2, 1, 1])
    picked = o1.date_input(
        "Date range",
        min_value=first,
        max_value=last,
        key=kept(f"detect_range_{ds.digest[:12]}", (first, last)),  # per dataset: other dates
    )
    show_anomalies = o2.toggle("Show anomalies", key=kept("detect_show", True))
    show_band = o3.toggle("Show expected range", key=kept("detect_band", True))
    start, end = picked if isinstance(picked, tuple) and len(picked) == 2 else (first, last)
    # the events table, CSV, counters and chart of a setting are built once, for every session
    view = views.studio_view(ref, det_settings, th, start, end, scored, flags, events)
    summary = views.events_summary(view, ds.freq)
    view_events = view.events

    counts = summary.counts
    # a row that wraps: four counters a row on a desktop, two on a phone (columns stack one a row)
    m = metrics_area.container(horizontal=True, gap="medium")
    tariff_default = DEFAULT_TARIFF.get(energy_unit, 0.2)
    tariff = float(st.session_state.get(kept(f"detect_tariff_{energy_unit}", tariff_default)))
    m.metric("Alerts per week", f"{counts['alerts_per_week']:.1f}", width=METRIC_W)
    m.metric("Events", f"{counts['events']:,}", width=METRIC_W)
    m.metric("Flagged readings", f"{counts['flagged']:,}", width=METRIC_W)
    m.metric(f"Over-use ({energy_unit})", f"{counts['over']:+,.1f}", width=METRIC_W)
    m.metric(f"Under-use ({energy_unit})", f"{counts['under']:+,.1f}", width=METRIC_W)
    m.metric("Cost of over-use", f"{energy_cost(counts['over'], tariff):,.2f}", width=METRIC_W)
    m.metric("Value of under-use", f"{-energy_cost(counts['under'], tariff):,.2f}", width=METRIC_W)
    m.number_input(
        f"Tariff (per {energy_unit})",
        min_value=0.0,
        step=tariff_default / 4,
        format="%.4f" if tariff_default < 0.01 else "%.2f",
        key=f"detect_tariff_{energy_unit}",
        width=METRIC_W,
        help="What a unit of energy costs you: the events' over-use and under-use are priced at it.",
    )

    # the table's key changes with the settings, so a stale selection never points at another event
    table_key = (
        "detect_events_"
        + hashlib.sha256(repr((ds.digest, det_settings, th, start, end)).encode()).hexdigest()[:12]
    )
    selection = st.session_state.get(table_key)
    rows = list((selection or {}).get("selection", {}).get("rows", []))
    table = views.with_alerted(ref, summary.table, view_events)  # saved meters: "Alerted" column
    # the table is ordered by impact; its index holds each row's position in the events
    picked_row = int(table.index[rows[0]]) if rows and rows[0] < len(table) else None
    selected = view_events.iloc[picked_row] if picked_row is not None else None

    x_range = event_window(selected, ds.freq) if selected is not None else None
    fig = views.anomaly_chart(
        view,
        unit=ds.unit,
        show_anomalies=show_anomalies,
        show_band=show_band,
        x_range=x_range,
        template=template,
    )
    fig = with_label_shapes(fig, ref)  # a copy with the meter's labels shaded (saved meters)
    chart_slot.plotly_chart(fig, key="detect_chart", config={"displaylogo": False})
    with st.expander("Day by hour (carpet plot)", icon=":material/calendar_view_month:"):
        st.caption(
            "Each row a day, each column an hour: night-time use and schedule drift show as bands; "
            "red squares hold anomalies."
        )
        st.plotly_chart(
            views.carpet_chart(view, unit=ds.unit, template=template),
            key="detect_carpet",
            config={"displaylogo": False},
        )
        yearly = views.year_on_year_chart(view, unit=ds.unit, template=template)
        if yearly is not None:  # several years: the seasons laid over each other
            st.caption("Year on year: each year's daily mean on one January-December axis.")
            st.plotly_chart(yearly, key="detect_year_on_year", config={"displaylogo": False})

    if ds.has_labels:
        st.subheader("Against the labels")
        result = evaluate(view.frame["label"], view.frame["score"], view.flags)
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
        st.caption(
            "Largest energy impact first. Click a row to zoom the chart to it; click a column "
            "header to sort."
        )
        st.dataframe(
            table,
            hide_index=True,
            on_select="rerun",
            selection_mode="single-row",
            key=table_key,
            column_order=EVENT_TABLE_COLUMNS + ([views.ALERTED] if views.ALERTED in table else []),
            row_height=70,  # past 4 rem Streamlit wraps text: the cause is read whole, not cut off
            column_config={
                "start": st.column_config.DatetimeColumn("Start", format="YYYY-MM-DD HH:mm"),
                "type": st.column_config.TextColumn("Type"),
                "severity": st.column_config.TextColumn("Severity", width="small"),
                "change_pct": st.column_config.NumberColumn(
                    "Vs expected", format="%+.0f %%", width="small"
                ),
                "excess": st.column_config.NumberColumn(
                    f"Energy ({energy_unit})",
                    format="%+,.1f",
                    help="Over-use is positive, under-use negative.",
                ),
                "duration_h": st.column_config.NumberColumn("Hours", format="%.0f", width="small"),
                "cause": st.column_config.TextColumn("Cause", width=340),  # fits beside the rest
                views.ALERTED: st.column_config.TextColumn(
                    "Alerted",
                    help="What the alert rules did about the event: sent (to which channels), "
                    "suppressed (and why), failed; — where no rule alerted.",
                ),
            },
        )
        if selected is not None:
            start_iso = pd.Timestamp(selected["start"]).isoformat()
            what = f"{type_name(selected['type'])} from {start_iso}. {selected['cause']}"
            st.markdown(f"**Selected:** {md_escape(what)}")
            if st.button("Explain this event", icon=":material/lightbulb:", key="detect_explain"):
                st.session_state["explain_event"] = start_iso
                st.switch_page("pages/4_explainability.py")

    # ---- downloads ------------------------------------------------------------------------------
    st.subheader("Downloads")
    settings_text = {
        "Detectors": label,
        "Threshold": MODES[mode]
        + {
            "sigma": f", k = {k}",
            "percentile": f", {percentile}th",
            "per_month": f", {per_month}/month",
        }.get(mode, ""),
        "Direction": DIRECTIONS[direction],
        "Minimum deviation": f"{min_dev} {ds.unit} and {min_dev_pct} % of expected",
        "Date range": f"{start} to {end}",
        "Public holidays": (country or "none")
        + (" (counted as normal)" if country and holidays_normal else ""),
        "Energy": f"over-use {counts['over']:+,.1f} {energy_unit}, under-use "
        f"{counts['under']:+,.1f} {energy_unit}, priced at {tariff:g} per {energy_unit}",
    }
    metrics_for_pdf = metrics_lines(result) if ds.has_labels else None
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
            settings=settings_text,
            events=view_events,
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
        lambda: report.flags_csv(view.frame, view.flags, view_events),
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

    labels_section(ref, scored, view.flags, view_events, th)  # core/ui/labels.py (issue 14)


studio()
