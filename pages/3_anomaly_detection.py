"""Anomaly detection: the threshold studio. Fit once (cached), then every slider only re-thresholds."""

from __future__ import annotations

import hashlib

import streamlit as st

from core.charts.tables import detector_settings, event_window
from core.detect.detectors import REGISTRY
from core.detect.pipeline import DetectorSettings
from core.ui import cache, views
from core.ui.hosting import LSTM, LSTM_OFF, available
from core.ui.labels import labels_section, with_label_shapes
from core.ui.settings import DetectionChoice, detection_choice, share_detection
from core.ui.shell import current_dataset, current_ref, plotly_template, require_router
from core.ui.state import kept
from core.ui.status import prepared, reported
from core.ui.studio_controls import MODES, threshold_controls
from core.ui.studio_downloads import downloads, report_settings
from core.ui.studio_results import against_labels, counters, events_section
from core.ui.text import md_escape

require_router()

CHOOSE_AGAIN = "Pick other detectors and press Apply."

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

    choice = threshold_controls(c2, c3, mode, scored, base, ds, ref)  # core/ui/studio_controls.py
    th = choice.settings()
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

    # ---- counters --------------------------------------------------------------------------------
    counts = summary.counts
    tariff = counters(metrics_area, counts, energy_unit)  # core/ui/studio_results.py

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

    # ---- against the labels, then the events (core/ui/studio_results.py) -------------------------
    result = against_labels(view) if ds.has_labels else None
    events_section(table, view_events, selected, table_key, energy_unit)

    # ---- downloads (core/ui/studio_downloads.py) -------------------------------------------------
    settings_text = report_settings(label, choice, ds.unit, start, end, counts, energy_unit, tariff)
    downloads(ds, fig, view, summary, result, energy_unit, settings_text)

    labels_section(ref, scored, view.flags, view_events, th)  # core/ui/labels.py (issue 14)


studio()
