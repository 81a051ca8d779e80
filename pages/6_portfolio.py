"""Portfolio: every saved meter ranked by wasted energy (fleet scoring, core.fleet)."""

from __future__ import annotations

import streamlit as st

from core.charts.fleet_charts import (
    filter_options,
    filtered,
    portfolio_table,
    top_wasters_figure,
)
from core.fleet.portfolio import with_cost
from core.ui import auth
from core.ui.fleet_scoring import table_columns
from core.ui.portfolio import latest_portfolio, score_saved_meters
from core.ui.settings import detection_choice
from core.ui.shell import require_router
from core.ui.status import prepared, reported

require_router()

SCORE_ASKED = "fleet_score_asked"  # session key: the button was pressed, score on this run

st.title("Portfolio")
access = auth.require_role("viewer")  # saved meters: signed-in users of an organisation only
st.caption(
    "Which meters to look at today: every meter of the last fleet run, most costly over-use first. "
    "Open a meter to see its events on the Anomaly detection page."
)

with reported("Reading the portfolio", what_to_do="Check the database settings."):
    run, rows = latest_portfolio(access.owner)

# a callback, not the button's value: a rerun before this line (the sidebar's) would lose the click
blocked = auth.write_blocked("score the saved meters")
st.button(
    "Score all saved meters",
    type="primary",
    key="fleet_score",
    disabled=blocked is not None,
    help=blocked,
    on_click=lambda: st.session_state.update({SCORE_ASKED: True}),
)
if st.session_state.pop(SCORE_ASKED, False) and blocked is None:
    summary = prepared(
        "Scoring the saved meters",
        lambda progress: score_saved_meters(access.owner, detection_choice(), progress),
        what_to_do="Check the saved meters on the Upload page.",
    )
    if summary is not None:
        st.success(" ".join(summary.lines()[:2]))
        run, rows = latest_portfolio(access.owner)

if run is None or rows.empty:
    st.info(
        "No fleet has been scored yet: save meters on the Upload page, then score them here "
        "(or run `python -m core fleet score meters`)."
    )
    st.stop()

st.caption(
    f"Fleet run {run['id']}: {run['meters']} meters from {run['source']}, "
    f"{run['failed']} failed, {run['settings'].get('detector', '')} detector, {run['created'][:16]}."
)
left, *filters = st.columns([1, 1, 1, 1])
tariff = left.number_input(
    "Tariff per kWh", min_value=0.0, value=0.25, step=0.01, format="%.3f", key="fleet_tariff"
)
options = filter_options(rows)
labels = {"site": "Site", "building_type": "Building type", "unit": "Unit"}
chosen = {
    col: box.multiselect(labels[col], options[col], key=f"fleet_{col}")
    for box, col in zip(filters, labels, strict=True)
}
shown = with_cost(filtered(rows, chosen), tariff)

st.plotly_chart(top_wasters_figure(shown), key="fleet_top", width="stretch")
st.dataframe(
    portfolio_table(shown),
    key="fleet_table",
    hide_index=True,
    width="stretch",
    column_config=table_columns(),
)
