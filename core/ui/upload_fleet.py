"""The Upload page's "All N meters of this file" section: rank every meter of a long-format file.

``fleet_section(meters, schema, options, file_digest, filename, file_bytes)`` draws, for a file with
two meters or more (one of them picked in the Columns expander), a "Score all N meters" button that
scores every meter with the Anomaly detection page's detector and threshold
(``core.ui.fleet_scoring.score_upload``, in the status box), then the summary, a tariff, the top
wasters chart, the portfolio table (picking a row shows that meter above, through the Meter
selectbox's key), the meters that could not be scored and a portfolio CSV. ``file_bytes`` is called
only when scoring. The scores live in the session only (one file's at a time): nothing is stored.

Session keys: ``upload_fleet_asked`` (the button was pressed: popped on every run, so never left
over for another file), ``upload_fleet`` (the last scores, with what they depend on),
``upload_fleet_table`` (the table's selection), ``upload_fleet_tariff``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import streamlit as st

from core.charts.fleet_charts import portfolio_table, top_wasters_figure
from core.charts.report import csv_bytes
from core.fleet.portfolio import with_cost
from core.ingest.data import CleanOptions, Schema
from core.ui.fleet_scoring import score_upload, table_columns
from core.ui.settings import detection_choice
from core.ui.shell import plotly_template
from core.ui.state import kept
from core.ui.status import prepared
from core.ui.text import md_escape

# session keys: the button was pressed; the last scores (one file's at a time); the table
FLEET_ASKED, FLEET = "upload_fleet_asked", "upload_fleet"
FLEET_TABLE, MAX_FAILED_SHOWN = "upload_fleet_table", 20


def _show_meter(names: list[str], meters: list[str], meter_key: str) -> None:
    """A row picked in the table shows that meter above (a callback: before the selectbox is drawn)."""
    picked = st.session_state[FLEET_TABLE].selection.rows
    if picked and 0 <= picked[0] < len(names) and names[picked[0]] in meters:
        st.session_state[meter_key] = names[picked[0]]


def fleet_section(
    meters: list[str],
    schema: Schema,
    options: CleanOptions,
    file_digest: str,
    filename: str,
    file_bytes: Callable[[], bytes],
) -> None:
    """Score and rank every meter of a long-format file (shown only for two meters or more)."""
    meter_key = f"upload_meter_{file_digest[:12]}"  # the Meter selectbox above
    asked = st.session_state.pop(FLEET_ASKED, False)  # never left over for another file
    if schema.meter is None or len(meters) < 2:
        return
    st.subheader(f"All {len(meters):,} meters of this file")
    st.caption(
        "Rank every meter of the file by wasted energy, with the Anomaly detection page's detector "
        "and threshold. The scores live in this session only: nothing is stored. "
        "Save meters to keep them and see them on the Portfolio page."
    )
    choice = detection_choice()
    fleet_schema = replace(schema, meter=None)
    fleet_key = (file_digest, fleet_schema, options, choice)  # what the scores depend on
    # a callback, not the button's value: a rerun before this line (the sidebar's) would lose it
    st.button(
        f"Score all {len(meters):,} meters",
        key="upload_fleet_score",
        icon=":material/leaderboard:",
        on_click=lambda: st.session_state.update({FLEET_ASKED: True}),
    )
    if asked:
        fleet_bytes = file_bytes()
        scored = prepared(
            f"Scoring {len(meters):,} meters",
            lambda progress: score_upload(
                fleet_bytes, filename, fleet_schema, options, choice, progress
            ),
            what_to_do="Check the meter id and consumption columns above.",
            stop=False,
        )
        if scored is not None:
            st.session_state[FLEET] = (fleet_key, *scored)  # one file's scores at a time
    found = st.session_state.get(FLEET)
    if found is None or found[0] != fleet_key:
        return
    _, fleet_summary, fleet_rows = found
    st.success(md_escape(fleet_summary.lines()[0]), icon=":material/leaderboard:")
    fleet_tariff = st.number_input(
        "Tariff per kWh",
        min_value=0.0,
        step=0.01,
        format="%.3f",
        key=kept("upload_fleet_tariff", 0.25),
    )
    fleet_shown = with_cost(fleet_rows, fleet_tariff)
    fleet_table = portfolio_table(fleet_shown)
    st.plotly_chart(
        top_wasters_figure(fleet_shown, template=plotly_template()),
        key="upload_fleet_top",
        width="stretch",
    )
    st.dataframe(
        fleet_table,
        key=FLEET_TABLE,
        hide_index=True,
        width="stretch",
        column_config=table_columns(links=False),
        on_select=lambda names=fleet_table["meter"].tolist(): _show_meter(names, meters, meter_key),
        selection_mode="single-row",
    )
    st.caption("Pick a row to show that meter above.")
    failed = fleet_table[fleet_table["error"].notna()]
    if len(failed):
        lines = [
            f"- {md_escape(m)}: {md_escape(e)}"
            for m, e in zip(failed["meter"][:MAX_FAILED_SHOWN], failed["error"], strict=False)
        ]
        if len(failed) > MAX_FAILED_SHOWN:
            lines.append(f"- … and {len(failed) - MAX_FAILED_SHOWN:,} more (the Error column)")
        st.warning(
            f"**{len(failed):,} of {len(fleet_table):,} meters could not be scored:**\n"
            + "\n".join(lines),
            icon=":material/warning:",
        )
    st.download_button(
        "Portfolio CSV",
        lambda: csv_bytes(fleet_table.drop(columns="open")),
        file_name=f"{Path(filename).stem}_portfolio.csv",
        mime="text/csv",
        key="upload_fleet_csv",
        on_click="ignore",
        icon=":material/download:",
    )
