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
from core.charts.series import anomaly_figure
from core.detect.detectors import REGISTRY
from core.explain.explainers import EXPLAINERS, explaining_settings
from core.explain.sentence import explanation_sentence, peak_time
from core.explain.types import ExplainError
from core.ui import cache
from core.ui.settings import detection_choice
from core.ui.shell import current_dataset, current_ref, plotly_template, require_router
from core.ui.state import kept
from core.ui.status import prepared, reported

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


choice = detection_choice()
det_settings, th = choice.detector, choice.threshold
methods = [m for m in EXPLAINERS if m in REGISTRY]
arrived = st.session_state.pop("explain_event", None)  # from the Anomaly detection page
if arrived:
    st.session_state["explain_view"] = "Per anomaly"

c1, c2 = st.columns([2, 1])
method = c1.radio(
    "Explainer",
    methods,
    format_func=EXPLAINERS.get,
    horizontal=True,
    key=kept("explain_method", methods[0]),
    help="Isolation Forest: SHAP on the engineered features. LSTM: SHAP over its input window and "
    "calendar inputs. Prophet: its own trend and seasonal components.",
)
view = (
    c2.segmented_control("View", ["Per anomaly", "Global"], key=kept("explain_view", "Global"))
    or "Global"
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
if target != det_settings:
    st.caption(
        f"The current detector ({detector_label}) has no {EXPLAINERS[method]} part, so "
        f"{REGISTRY[method].title} is fitted on this dataset on its own to explain the same readings."
    )
    _ready(target, REGISTRY[method].title)
with reported("Scoring the readings", what_to_do=CHOOSE_AGAIN):
    scored = cache.scored(ref, det_settings)
    flags, events, _ = cache.flagged(ref, det_settings, th)  # the detection page's own events
events = events.reset_index(drop=True)
if events.empty:
    st.info("No events at the current threshold. Lower it on the Anomaly detection page.")
    st.stop()

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
    return f"{pd.Timestamp(ev['start']):%Y-%m-%d %H:%M} · {ev['type']} · {ev['cause']}"


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

st.info(explanation_sentence(point, e), icon=":material/lightbulb:")
m = st.columns(4)
m[0].metric(f"Actual ({ds.unit})", f"{point['value']:,.2f}")
m[1].metric(f"Expected ({ds.unit})", f"{point['expected']:,.2f}")
m[2].metric("Score (sigma)", f"{float(scored.at[peak, 'score']):.2f}")
m[3].metric("Explained reading", f"{peak:%Y-%m-%d %H:%M}")

left, right = st.columns([2, 1])
titles = {
    "isolation_forest": "How each feature moved the anomaly output",
    "lstm": "How each input moved the LSTM forecast",
    "prophet": "Prophet's forecast, part by part",
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

pad = pd.Timedelta(days=2)
window = scored.loc[pd.Timestamp(ev["start"]) - pad : pd.Timestamp(ev["end"]) + pad]
st.plotly_chart(
    anomaly_figure(
        window,
        flags.reindex(window.index),
        events,
        unit=ds.unit,
        title="Expected vs actual around the event",
        template=template,
    ),
    key="explain_context",
    **PLOT,
)
