"""What the Anomaly detection page shows of one setting: the counters, the scores against the file's
labels and the events table.

``counters(area, counts, energy_unit)`` draws the row of counters (alerts per week, events, flagged
readings, over- and under-use with their cost) and the tariff they are priced at (session key
``detect_tariff_<unit>``), and returns the tariff. ``against_labels(view)`` draws the point-wise and
event-wise metrics of a labelled file beside a random baseline (``core.detect.evaluation.evaluate``)
and returns them. ``events_section(table, events, selected, table_key, energy_unit)`` draws the
events table (largest energy impact first; a row picked zooms the chart) and, for the picked event,
its line and the "Explain this event" button, which opens Explainability on it (session key
``explain_event``). The tables come built from ``core.ui.views``; nothing here computes a view.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.charts.tables import (
    DEFAULT_TARIFF,
    EVENT_TABLE_COLUMNS,
    energy_cost,
    metrics_table,
    type_name,
)
from core.detect.evaluation import evaluate
from core.ui import views
from core.ui.state import kept
from core.ui.text import md_escape

METRIC_W = 150  # px: four counters a row on a desktop, two on a 390 px phone


def counters(area: DeltaGenerator, counts: dict, energy_unit: str) -> float:
    """The counters of the events in ``area`` and the tariff input; returns the tariff."""
    # a row that wraps: four counters a row on a desktop, two on a phone (columns stack one a row)
    m = area.container(horizontal=True, gap="medium")
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
    return tariff


def against_labels(view: views.StudioView) -> dict[str, float]:
    """The metrics of these settings against the file's anomaly labels; returns them."""
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
    return result


def events_section(
    table: pd.DataFrame,
    events: pd.DataFrame,
    selected: pd.Series | None,
    table_key: str,
    energy_unit: str,
) -> None:
    """The events table (a row picked zooms the chart) and the picked event's Explain button."""
    st.subheader(f"Events ({len(events)})")
    if events.empty:
        st.info("No events at these settings. Lower the threshold or widen the date range.")
        return
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
