"""Live simulation: replay the current dataset as a stream, scored reading by reading."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.charts.live_charts import live_figure
from core.detect.detectors import REGISTRY
from core.detect.events import energy_unit_of
from core.live.engine import (
    INJECTION_TITLES,
    LiveSettings,
    counters,
    events_table,
    init_state,
    inject,
    injections_table,
    next_points,
    pause,
    reset,
    start,
    step,
)
from core.ui import cache
from core.ui.settings import detection_choice
from core.ui.shell import current_dataset, current_ref, plotly_template, require_router
from core.ui.state import forget, kept
from core.ui.status import prepared, reported

require_router()

ds = current_dataset()
ref = current_ref()
template = plotly_template()
frame = ds.frame

st.title("Live simulation")
st.caption(
    "The current dataset replayed as a stream. The detector learns from the warm-up period only; "
    "each new reading is then scored from the readings before it, with no refit. Detector and "
    "threshold follow the Anomaly detection page."
)


choice = detection_choice()
det_settings, th = choice.detector, choice.threshold
per_day = max(1, round(pd.Timedelta("1D") / ds.freq))
total_days = max(1, len(frame) // per_day)

# the stream's settings fold away, so on a phone Start and the chart come first
settings_box = st.expander("Stream settings: speed, warm-up, readings shown", expanded=False)
c1, c2, c3 = settings_box.columns(3)
speed = c1.slider("Speed (readings per second)", 1, 50, key=kept("live_speed", 2))
max_warmup = max(2, total_days - 1)
if st.session_state.get("live_warmup_days.kept", 2) > max_warmup:  # a shorter dataset than before
    forget("live_warmup_days")
warmup_days = c2.number_input(
    "Warm-up (days the detector learns from)",
    min_value=2,
    max_value=max_warmup,
    key=kept("live_warmup_days", min(14, max(2, total_days // 2))),
)
shown = c3.slider("Readings shown", 50, 1000, step=50, key=kept("live_window", 300))
# at least 96 readings, so daily data still gives a detector two "min_points" to learn from
warmup = int(min(max(warmup_days * per_day, 96), len(frame) - 1))
stream = frame.iloc[warmup:]

label = REGISTRY[det_settings.detector].title or det_settings.detector
CHOOSE_AGAIN = "Try a longer warm-up, or other detectors on the Anomaly detection page."
if not cache.live_ready(ref, det_settings, warmup):
    prepared(
        f"Training {label} on the warm-up period",
        lambda progress: cache.live_detector(ref, det_settings, warmup, progress=progress),
        what_to_do=CHOOSE_AGAIN,
        ready=f"{label}: ready",
    )

config = (ref, det_settings, th, warmup)
if st.session_state.get("live_config") != config:
    detector = cache.live_detector(ref, det_settings, warmup)
    settings = LiveSettings.from_threshold(th, keep=1000)  # the most "Readings shown" offers
    with (
        reported("Preparing the stream", what_to_do=CHOOSE_AGAIN),
        st.spinner("Preparing the stream…"),
    ):
        st.session_state["live_state"] = init_state(
            detector, frame.iloc[:warmup], settings, freq=ds.freq, unit=ds.unit
        )
    st.session_state["live_config"] = config


def _set(change) -> None:
    st.session_state["live_state"] = change(st.session_state["live_state"])


# one row that wraps (columns would stack one button a row on a phone)
b = st.container(horizontal=True, gap="small")
b.button("Start", icon=":material/play_arrow:", key="live_start", on_click=_set, args=(start,))
b.button("Pause", icon=":material/pause:", key="live_pause", on_click=_set, args=(pause,))
b.button("Reset", icon=":material/replay:", key="live_reset", on_click=_set, args=(reset,))
for kind in ("spike", "drop_to_zero", "stuck"):
    b.button(
        f"Inject {INJECTION_TITLES[kind].lower()}",
        key=f"live_inject_{kind}",
        on_click=_set,
        args=(lambda s, kind=kind: inject(s, kind),),
    )

interval = 0.5 if speed >= 2 else 1.0  # seconds between ticks
per_tick = max(1, round(speed * interval))
state = st.session_state["live_state"]
energy_unit = energy_unit_of(ds.unit)
how = {
    "sigma": "sigma threshold",
    "percentile": f"{state.settings.threshold.percentile:g}th percentile of the warm-up",
    "per_month": f"{state.settings.threshold.alerts_per_month} events a month on the warm-up",
    "dynamic": "dynamic threshold of the warm-up (on the smoothed score)",
}[state.settings.threshold.mode]
st.caption(
    f"{label}, {how}: {state.threshold:.2f} · each reading is scored from the "
    f"{state.context:,} readings before it"
    + ("" if state.batch_causal else " (one at a time: this detector looks around a point)")
    + f" · {len(stream):,} readings to replay."
)


METRIC_W = 150  # px: a counter's width in the wrapping row


def live_panel() -> None:
    """One tick: take the next readings, step, toast new alerts, redraw in place."""
    state = st.session_state["live_state"]
    if state.running:
        chunk = next_points(stream, state, per_tick)
        if chunk.empty:
            st.session_state["live_state"] = pause(state)
            st.rerun(scope="app")
        state = step(state, chunk)
        st.session_state["live_state"] = state
        for ev in state.new_alerts:
            st.toast(
                f"{ev.type.replace('_', ' ')} at {ev.start:%Y-%m-%d %H:%M}: {ev.cause}",
                icon=":material/warning:",
            )
    count = counters(state)
    st.plotly_chart(
        live_figure(state, last=shown, unit=ds.unit, template=template),
        key="live_chart",
        config={"displaylogo": False},
    )
    # counters under the chart, in a row that wraps: two or three a row on a phone
    m = st.container(horizontal=True, gap="medium")
    m.metric("Status", "running" if state.running else "paused", width=METRIC_W)
    m.metric("Readings replayed", f"{count['readings']:,} / {len(stream):,}", width=METRIC_W)
    m.metric("Flagged", f"{count['flagged']:,}", width=METRIC_W)
    m.metric("Events", f"{count['events']:,}", width=METRIC_W)
    m.metric("Injected caught", f"{count['detected']} / {count['injected']}", width=METRIC_W)
    left, right = st.columns([3, 2])
    left.markdown("**Live anomalies** (newest first)")
    left.dataframe(
        events_table(state),
        hide_index=True,
        key="live_events",
        column_order=["start", "end", "type", "peak_score", "excess", "cause"],
        column_config={
            "start": st.column_config.DatetimeColumn("Start", format="YYYY-MM-DD HH:mm"),
            "end": st.column_config.DatetimeColumn("End", format="YYYY-MM-DD HH:mm"),
            "peak_score": st.column_config.NumberColumn("Peak score", format="%.2f"),
            "excess": st.column_config.NumberColumn(f"Excess ({energy_unit})", format="%.1f"),
            "cause": st.column_config.TextColumn("Cause", width="large"),
        },
    )
    right.markdown("**Injected anomalies** and their detection delay")
    right.dataframe(
        injections_table(state),
        hide_index=True,
        key="live_injections",
        column_config={
            "start": st.column_config.DatetimeColumn("Injected at", format="YYYY-MM-DD HH:mm"),
            "detected": st.column_config.DatetimeColumn("Caught at", format="YYYY-MM-DD HH:mm"),
            "delay": st.column_config.NumberColumn("Delay (readings)", format="%d"),
        },
    )


st.fragment(live_panel, run_every=interval if state.running else None)()
