"""Explainability: why a reading was flagged, and what drives the model overall."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.charts.explain_charts import (
    actual_expected_figure,
    beeswarm_figure,
    importance_figure,
    positions_figure,
    waterfall_figure,
)
from core.charts.series import CONTEXT_DAYS, event_context_figure
from core.charts.tables import by_impact, type_name
from core.detect.detectors import REGISTRY
from core.explain.explainers import (
    EXPLAINERS,
    explainable,
    explaining_settings,
    history_needed,
    offered,
)
from core.explain.sentence import explanation_sentence, peak_time
from core.explain.types import ExplainError
from core.ui import cache
from core.ui.hosting import LSTM, LSTM_OFF, available
from core.ui.settings import detection_choice
from core.ui.shell import current_dataset, current_ref, plotly_template, require_router
from core.ui.state import kept
from core.ui.status import prepared, reported
from core.ui.text import md_escape

require_router()

ds = current_dataset()
ref = current_ref()
template = plotly_template()
PLOT = {"config": {"displaylogo": False}}

st.title("Explainability")
st.caption(
    "Why a reading was flagged, in the model's own terms. Detector and threshold follow the "
    "Anomaly detection page."
)


CHOOSE_AGAIN = "Pick another explainer, or other detectors on the Anomaly detection page."


def _ready(settings, label: str) -> None:
    """Fit (or load) the detector for ``settings`` with a progress box, once."""
    if not cache.model_ready(ref, settings):
        prepared(
            f"Preparing {label}",
            lambda progress: cache.fitted_detector(ref, settings, progress=progress),
            what_to_do=CHOOSE_AGAIN,
            ready=f"{label}: ready",
        )


choice = detection_choice(ds, ref)
det_settings, th = choice.detector, choice.threshold
# the learned detector's only when it is the detector; no LSTM where it is off (core.ui.hosting)
methods = available(offered(det_settings, REGISTRY))
method_key = kept("explain_method", methods[0])
if st.session_state[method_key] not in methods:  # kept under another detector (learned)
    st.session_state[method_key] = methods[0]
arrived = st.session_state.pop("explain_event", None)  # from the Anomaly detection page
if arrived:
    st.session_state["explain_view"] = "Per anomaly"

c1, c2 = st.columns([2, 1])
method = c1.radio(
    "Explainer",
    methods,
    format_func=EXPLAINERS.get,
    horizontal=True,
    key=method_key,
    help="Isolation Forest: SHAP on the engineered features. LSTM: SHAP over its input window and "
    "calendar inputs. Prophet: its own trend and seasonal components. Learned from labels (when "
    "it is the detector): SHAP of its model, in log-odds of an anomaly.",
)
if LSTM not in methods:
    c1.caption(LSTM_OFF)
view = (
    c2.segmented_control("View", ["Per anomaly", "Global"], key=kept("explain_view", "Per anomaly"))
    or "Per anomaly"
)

detector_label = REGISTRY[det_settings.detector].title or det_settings.detector

# ---- global view (Isolation Forest SHAP) ----------------------------------------------------------
if view == "Global":
    forest_settings = explaining_settings(det_settings, "isolation_forest")
    if method != "isolation_forest":
        st.info("The global view is SHAP on the Isolation Forest, whichever explainer is picked.")
    _ready(forest_settings, REGISTRY[forest_settings.detector].title)
    with (
        reported("Computing SHAP values", what_to_do=CHOOSE_AGAIN),
        st.spinner("Computing SHAP values for a sample of readings…"),
    ):
        g = cache.global_explanation(ref, forest_settings)
    st.subheader("What the model looks at")
    st.caption(
        f"SHAP values of {len(g.index):,} readings sampled at random (seeded). Positive values push "
        "a reading towards anomalous."
    )
    a, b = st.columns(2)
    a.plotly_chart(
        importance_figure(g, title="Mean |SHAP| per feature", template=template),
        key="explain_importance",
        **PLOT,
    )
    b.plotly_chart(
        beeswarm_figure(g, title="Every sampled reading", template=template),
        key="explain_beeswarm",
        **PLOT,
    )
    st.stop()

# ---- per anomaly -------------------------------------------------------------------------------
_ready(det_settings, detector_label)
target = explaining_settings(det_settings, method)
with reported("Scoring the readings", what_to_do=CHOOSE_AGAIN):
    scored = cache.scored(ref, det_settings)
    flags, events, _ = cache.flagged(ref, det_settings, th)  # the detection page's own events
if events.empty:
    st.info("No events at the current threshold. Lower it on the Anomaly detection page.")
    st.stop()
# largest energy impact first, as the detection page lists them; only events this explainer can
# explain (the LSTM needs a window of readings before the one it explains), before any fitting
events = by_impact(events).reset_index(drop=True)
needed = history_needed(target, method, scored.index)
if needed:
    spans = zip(events["start"], events["end"], strict=True)
    peaks = pd.DatetimeIndex([peak_time(scored, a, b) for a, b in spans])
    offered = explainable(events, peaks, scored.index, needed)
else:
    offered = events
if len(offered) < len(events):
    st.caption(
        f"{len(events) - len(offered)} event(s) in the first {needed} readings are left out: "
        f"{EXPLAINERS[method]} needs that much history before a reading."
    )
    events = offered.reset_index(drop=True)
if events.empty:
    st.info("No event here has enough history before it for this explainer. Pick another one.")
    st.stop()
if target != det_settings:
    st.caption(
        f"The current detector ({detector_label}) has no {EXPLAINERS[method]} part, so "
        f"{REGISTRY[method].title} is fitted on this dataset on its own to explain the same readings."
    )
    _ready(target, REGISTRY[method].title)

starts = [pd.Timestamp(s).isoformat() for s in events["start"]]
pick_key = kept("explain_pick", 0)
if arrived in starts:
    st.session_state[pick_key] = starts.index(arrived)
elif arrived:
    st.warning(f"No event starts at {arrived} under the current settings; pick one below.")
if st.session_state[pick_key] >= len(events):  # kept from other settings or another dataset
    st.session_state[pick_key] = 0


def _event_label(i: int) -> str:
    ev = events.iloc[i]
    return f"{pd.Timestamp(ev['start']):%Y-%m-%d %H:%M} · {type_name(ev['type'])} · {ev['cause']}"


pick = st.selectbox(
    f"Event ({len(events)} under the current settings)",
    range(len(events)),
    format_func=_event_label,
    key=pick_key,
)
ev = events.iloc[pick]
peak = peak_time(scored, ev["start"], ev["end"])
point = {
    "time": peak,
    "value": float(scored.at[peak, "value"]),
    "expected": float(scored.at[peak, "expected"]) if "expected" in scored else float("nan"),
    "type": ev["type"],
}
with reported("Explaining the reading", what_to_do=CHOOSE_AGAIN):
    try:
        with st.spinner("Computing the explanation…"):
            e = cache.explanation(ref, target, method, peak.isoformat())
    except ExplainError as err:  # an expected answer ("cannot be explained"), not a fault
        st.warning(str(err))
        st.stop()

st.info(md_escape(explanation_sentence(point, e, unit=ds.unit)), icon=":material/lightbulb:")
m = st.container(horizontal=True, gap="medium")  # wraps: two a row on a phone
W = 160  # px a metric: four a row on a desktop, two on a 390 px phone
m.metric(f"Actual ({ds.unit})", f"{point['value']:,.2f}", width=W)
m.metric(f"Expected ({ds.unit})", f"{point['expected']:,.2f}", width=W)
m.metric("Score (sigma)", f"{float(scored.at[peak, 'score']):.2f}", width=W)
m.metric(f"Reading on {peak:%d %b %Y}", f"{peak:%H:%M}", help=f"{peak:%A %d %B %Y, %H:%M}", width=W)

left, right = st.columns([2, 1])
titles = {
    "isolation_forest": "How each feature moved the anomaly output",
    "lstm": "How each input moved the LSTM forecast",
    "prophet": "Prophet's forecast, part by part",
    "learned": "How each input moved the learned model's log-odds",
}
left.plotly_chart(
    waterfall_figure(e, title=titles[method], template=template), key="explain_waterfall", **PLOT
)
right.plotly_chart(
    actual_expected_figure(point["value"], point["expected"], unit=ds.unit, template=template),
    key="explain_actual_expected",
    **PLOT,
)
if method == "lstm":
    st.plotly_chart(
        positions_figure(e, title="One value per input position", template=template),
        key="explain_positions",
        **PLOT,
    )
    st.caption(f"SHAP via {e.extra.get('explainer', 'GradientExplainer')}, in {ds.unit}.")

st.plotly_chart(
    event_context_figure(
        scored,
        flags,
        events,
        ev,
        unit=ds.unit,
        title=f"Expected vs actual, {CONTEXT_DAYS} days either side of the event",
        template=template,
    ),
    key="explain_context",
    **PLOT,
)
