"""Upload: drop in a file (or pick a bundled sample), check the columns, read the quality report, use it,
rank every meter of a long-format file (scored in the session, nothing stored), save it as a meter
(merged into a saved one by timestamp), delete a saved meter."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from core.charts.fleet_charts import portfolio_table, top_wasters_figure
from core.charts.report import csv_bytes
from core.charts.series import series_figure
from core.fleet.portfolio import with_cost
from core.ingest.data import MAX_UPLOAD_MB, CleanOptions, DataError, Schema, check_upload
from core.ui import auth, cache
from core.ui import meters as saved_meters  # `meters` below: the ids of a long-format file
from core.ui.fleet_scoring import score_upload, table_columns
from core.ui.settings import detection_choice
from core.ui.shell import (
    current_ref,
    describe,
    pin_upload,
    plotly_template,
    require_router,
    set_dataset,
)
from core.ui.state import kept
from core.ui.status import prepared, reported
from core.ui.text import md_escape

require_router()

AUTO = "(detected)"
RESAMPLE = {
    "Keep the file's step": None,
    "15 min": "15min",
    "30 min": "30min",
    "1 h": "1h",
    "1 day": "1D",
}
TIMEZONES = [
    AUTO,
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Rome",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
]
UNITS = [AUTO, "kWh", "Wh", "MWh", "kW", "W", "MW"]
CHECK_FILE = "Check the file against the expected format below."
FORMAT = (
    "Expected: one timestamp column and one numeric consumption column (wide or long format; "
    "CSV, JSON, Parquet or TXT)."
)
READ_HINT = f"{FORMAT} Fix the file, or pick a bundled sample to see the format."  # no columns yet
HINT = f"{FORMAT} Open **Columns** above to point at the right columns."

st.title("Upload meter data")
st.caption(
    "Drop a file with a timestamp and a consumption column, or start from a bundled sample. "
    "Nothing leaves this server."
)

# No type=[...]: with it Streamlit checks the name before this script runs and shows its own
# traceback for a name with a NUL byte. The readers decide by content; check_upload refuses bad names.
source = st.file_uploader(
    "Upload meter data (CSV, JSON, Parquet or TXT)",
    key="upload_file",
    help=f"Up to {MAX_UPLOAD_MB} MB. Drag and drop works.",
)

samples = cache.sample_options()
ref = current_ref()
AUTO_USED = "upload_auto_used"  # the upload (file and choices) last made current by itself
if source is None:
    default_sample = (
        ref.name if ref.source == "sample" and ref.name in samples else next(iter(samples))
    )
    st.session_state.setdefault("upload_sample", default_sample)  # follows the current dataset
    sample_key = st.selectbox(
        "…or pick a bundled sample",
        list(samples),
        format_func=samples.get,
        key="upload_sample",
    )
    filename = cache.sample_bytes(sample_key)[1]
    digest = ""
else:
    sample_key = None
    # hash each file once, not on every rerun (a 200 MB sha256 is noticeable)
    seen = st.session_state.setdefault("upload_digests", {})
    data, filename = source.getvalue(), source.name
    with reported("Reading the file", what_to_do=CHECK_FILE, hint=READ_HINT):
        check_upload(len(data), filename)  # the name and the size, in the MB Streamlit counts
    digest = seen.get(source.file_id)
    if digest is None or not cache.upload_held(digest):
        digest = seen[source.file_id] = cache.remember_upload(data, filename)

# widget keys below are per file, so a new file starts from its own detected columns
file_digest = digest or f"sample-{sample_key}"
with reported("Reading the file", what_to_do=CHECK_FILE, hint=READ_HINT):
    guess = (
        cache.schema_guess(digest, filename) if digest else cache.sample_schema_guess(sample_key)
    )


def _pick(label: str, options: list[str], guessed: str | None, key: str) -> str | None:
    choices = [AUTO, *options]
    shown = f"{AUTO[:-1]}: {guessed})" if guessed else AUTO
    value = st.selectbox(
        label,
        choices,
        key=kept(f"upload_{key}_{file_digest[:12]}", AUTO),
        format_func=lambda c: shown if c == AUTO else c,
    )
    return None if value == AUTO else value


with st.expander("Columns (detected automatically; override if wrong)", expanded=False):
    cols = list(guess.columns)
    c1, c2, c3 = st.columns(3)
    with c1:
        ts_col = _pick("Timestamp column", cols, guess.timestamp_col, "ts")
        value_col = _pick("Consumption column", cols, guess.value_col, "value")
    with c2:
        meter_col = _pick("Meter id column (long format)", cols, guess.meter_col, "meter_col")
        meter = None
        meters = list(getattr(guess, "meters", []) or [])
        if meters and meter_col in (None, guess.meter_col):
            meter = st.selectbox(
                "Meter", meters, key=kept(f"upload_meter_{file_digest[:12]}", meters[0])
            )
        label_col = _pick("Label column (0/1 anomaly)", cols, guess.label_col, "label")
    with c3:
        covariates = st.multiselect(
            "Covariates (e.g. outdoor temperature)",
            cols,
            key=kept(
                f"upload_cov_{file_digest[:12]}", [c for c in guess.covariate_cols if c in cols]
            ),
        )
        unit = st.selectbox(
            f"Unit (detected: {guess.unit})",
            UNITS,
            key=kept(f"upload_unit_{file_digest[:12]}", AUTO),
        )
        tz = st.selectbox(
            "Timezone of naive timestamps",
            TIMEZONES,
            key=kept(f"upload_tz_{file_digest[:12]}", AUTO),
        )

base = cache.sample_base_options(sample_key) if sample_key else CleanOptions()
freq_labels = list(RESAMPLE)
base_freq = next((k for k, v in RESAMPLE.items() if v == base.freq), freq_labels[0])
c1, c2 = st.columns(2)
resample_label = c1.selectbox(
    "Resample to",
    freq_labels,
    key=kept(f"upload_resample_{file_digest[:12]}", base_freq),
    help="Energy units are summed per step, power units averaged.",
)
fill_limit = c2.number_input(
    "Fill gaps up to this many steps",
    min_value=0,
    max_value=96,
    step=1,
    key=kept(f"upload_fill_{file_digest[:12]}", int(base.fill_limit)),
    help="Longer gaps stay missing and are never scored.",
)

schema = Schema(
    timestamp_col=ts_col,
    value_col=value_col,
    meter_col=meter_col,
    meter=meter,
    label_col=label_col,
    covariate_cols=tuple(covariates) if covariates != list(guess.covariate_cols) else (),
    unit=None if unit == AUTO else unit,
    tz=None if tz == AUTO else tz,
)
options = CleanOptions(
    freq=RESAMPLE[resample_label],
    fill_limit=int(fill_limit),
    cumulative_to_interval=base.cumulative_to_interval,
)
if sample_key is not None:
    plain = schema == Schema() and options == base
    new_ref = (
        cache.DatasetRef.sample(sample_key)
        if plain
        else cache.DatasetRef.sample(sample_key, options, schema)
    )
else:
    new_ref = cache.DatasetRef("upload", filename, file_digest, schema, options)

with reported("Reading the file", what_to_do=CHECK_FILE, hint=HINT):
    ds = cache.dataset(new_ref)

# ---- report -------------------------------------------------------------------------------------
st.subheader("Data quality")
facts = describe(ds)
fields = ds.report.fields
missing = fields.get("missing_after_fill", fields.get("missing_points", fields.get("missing")))
m = st.columns(5)
m[0].metric("Rows", facts["Rows"])
m[1].metric("Step", facts["Step"])
m[2].metric("Unit", facts["Unit"])
span_days = (ds.frame.index[-1] - ds.frame.index[0] + ds.freq) / pd.Timedelta(days=1)
m[3].metric("Days covered", f"{span_days:,.0f}", help=facts["Period"])
m[4].metric("Missing readings", f"{int(ds.frame['value'].isna().sum()):,}")
notes_col, warn_col = st.columns(2)
with notes_col:
    st.markdown("**What cleaning changed**")
    changes = ds.report.changes  # they quote column names and cells: escaped, never markdown
    st.markdown("\n".join(f"- {md_escape(c)}" for c in changes) or "- Nothing: the file was clean.")
with warn_col:
    st.markdown("**Warnings**")
    st.markdown("\n".join(f"- {md_escape(w)}" for w in ds.report.warnings) or "- None.")
extras = {k: v for k, v in fields.items() if isinstance(v, str | int | float | bool)}
if extras:
    with st.expander("All report fields"):
        st.table({"field": list(extras), "value": [str(v) for v in extras.values()]})

st.subheader("Preview")
st.plotly_chart(
    series_figure(ds.frame, unit=ds.unit, template=plotly_template()),
    key="upload_preview",
)
st.caption(f"{facts['Period']}. Long series are thinned for display (MinMaxLTTB keeps every peak).")

if new_ref.source == "upload" and new_ref != ref and st.session_state.get(AUTO_USED) != new_ref:
    # a file someone drops here is what they want to analyse: it (with the choices above) becomes
    # the current dataset at once, so going straight to Anomaly detection never shows the sample
    # (once per file and choices: "Use this dataset" brings it back after another was picked)
    st.session_state[AUTO_USED] = new_ref
    pin_upload(digest, filename, cache.upload_bytes(digest))
    set_dataset(new_ref)
    st.rerun()
is_current = new_ref == ref
if st.button(
    "Use this dataset",
    type="primary",
    disabled=is_current,
    help="Makes this the dataset every page works on.",
    key="upload_use",
):
    if new_ref.source == "upload":  # the session keeps its own file: others' uploads never evict it
        pin_upload(digest, filename, cache.upload_bytes(digest))
    set_dataset(new_ref)
    st.rerun()
if is_current:
    st.success(
        f"**{md_escape(ds.name)}** is the current dataset. Open **Anomaly detection** to find anomalies."
    )
    st.page_link(
        "pages/3_anomaly_detection.py", label="Go to anomaly detection", icon=":material/warning:"
    )

# ---- every meter of a long-format file ----------------------------------------------------------
# session keys: the button was pressed; the last scores (one file's at a time); the table
FLEET_ASKED, FLEET = "upload_fleet_asked", "upload_fleet"
FLEET_TABLE, MAX_FAILED_SHOWN = "upload_fleet_table", 20
meter_key = f"upload_meter_{file_digest[:12]}"  # the Meter selectbox above


def _show_meter(names: list[str]) -> None:
    """A row picked in the table shows that meter above (a callback: before the selectbox is drawn)."""
    picked = st.session_state[FLEET_TABLE].selection.rows
    if picked and 0 <= picked[0] < len(names) and names[picked[0]] in meters:
        st.session_state[meter_key] = names[picked[0]]


asked = st.session_state.pop(FLEET_ASKED, False)  # never left over for another file
if meter is not None and len(meters) >= 2:
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
        fleet_bytes = data if sample_key is None else cache.sample_bytes(sample_key)[0]
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
    if found is not None and found[0] == fleet_key:
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
            on_select=lambda names=fleet_table["meter"].tolist(): _show_meter(names),
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

# ---- saved meters -------------------------------------------------------------------------------
NEW_METER = "(a new meter)"
POLICIES = {
    "keep": "Keep the stored values",
    "replace": "Replace them with the file's",
    "skip": "Skip the whole file",
}
SAVED, DELETED = "upload_saved", "upload_deleted"  # session keys: the last save report, delete line

blocked = auth.write_blocked("save this file as a meter")  # signed out, or a viewer
if blocked:
    st.caption(blocked)
    st.stop()
st.subheader("Save as meter")
st.caption(
    "A saved meter keeps its readings on this server across restarts, opens from the sidebar on any "
    "page, and records every detection run on it. Saving a newer file into a saved meter merges it "
    "by timestamp; readings stored with another value are reported, never dropped silently."
)
try:
    saved = saved_meters.meter_names()
except DataError as err:
    st.error(md_escape(f"Saving meters is not available: {err}"), icon=":material/error:")
    st.stop()
if st.session_state.get("upload_save_target") not in (NEW_METER, *saved):
    st.session_state.pop("upload_save_target", None)  # that meter was deleted meanwhile
s1, s2 = st.columns(2)
target = s1.selectbox("Save into", [NEW_METER, *saved], key="upload_save_target")
if target == NEW_METER:
    meter_name = s1.text_input(
        "Meter name",
        key=kept(f"upload_save_name_{file_digest[:12]}", Path(filename).stem[:200] or "meter"),
        max_chars=200,
        help="The name of a saved meter appends to it.",
    ).strip()
else:
    meter_name = target
policy = "keep"
if meter_name in saved:
    with reported("Reading the saved meter", what_to_do="Try again in a moment."):
        facts_line = saved_meters.meter_facts(meter_name)
    s2.markdown(
        f"**{md_escape(meter_name)}** has {md_escape(facts_line)}: this file's readings are "
        "merged into it by timestamp."
    )
    policy = s2.radio(
        "Readings stored with another value",
        list(POLICIES),
        format_func=POLICIES.get,
        key="upload_save_policy",
        help="Keep: only new timestamps are added. Replace: the file's values win. "
        "Skip: nothing is saved when any reading conflicts.",
    )
if st.button(
    "Save as meter",
    key="upload_save",
    icon=":material/save:",
    disabled=not meter_name,
    help="Stores the readings in the database and makes the meter the current dataset.",
):
    with reported("Saving the meter", what_to_do="Try again, or pick another meter name."):
        file_bytes = data if sample_key is None else cache.sample_bytes(sample_key)[0]
        report = saved_meters.save_meter(
            meter_name, ds, file_bytes, filename, on_conflict=policy, source=file_digest
        )
        opened = saved_meters.open_meter(report.meter)
    st.session_state[SAVED] = report
    set_dataset(opened)
    st.rerun()
report = st.session_state.get(SAVED)
if isinstance(report, saved_meters.SaveReport) and report.source == file_digest:
    box = st.success if not (report.conflicting or report.skipped) else st.warning
    box(md_escape(report.message), icon=":material/save:")
    st.markdown(saved_meters.report_markdown(report))

if saved:
    with st.expander("Delete a saved meter"):
        victim = st.selectbox("Meter to delete", saved, key="upload_delete_meter")
        sure_key = f"upload_delete_sure_{victim}"
        sure = st.checkbox(
            f"Yes, delete {md_escape(victim)} with all its readings, files and detection runs",
            key=sure_key,
        )
        if st.button("Delete meter", key="upload_delete", disabled=not sure, type="secondary"):
            with reported("Deleting the meter", what_to_do="Try again in a moment."):
                removed = saved_meters.delete_meter(victim)
            st.session_state.pop(sure_key, None)  # a new meter of that name asks again
            if ref.source == "meter" and ref.name == victim:
                set_dataset(cache.default_ref())
            st.session_state[DELETED] = f"Deleted meter {victim} and its {removed:,} readings."
            st.rerun()
deleted = st.session_state.pop(DELETED, None)
if deleted:
    st.success(md_escape(deleted), icon=":material/delete:")
