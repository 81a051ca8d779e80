"""Upload: drop in a file (or pick a bundled sample), check the columns, read the quality report, use it,
rank every meter of a long-format file (scored in the session, nothing stored), save it as a meter
(merged into a saved one by timestamp), delete a saved meter."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.charts.series import series_figure
from core.ingest.data import MAX_UPLOAD_MB, CleanOptions, Schema, check_upload
from core.ui import cache
from core.ui.shell import (
    current_ref,
    describe,
    pin_upload,
    plotly_template,
    require_router,
    set_dataset,
)
from core.ui.status import reported
from core.ui.text import md_escape
from core.ui.upload_columns import cleaning_choices, column_choices
from core.ui.upload_fleet import fleet_section
from core.ui.upload_save import delete_section, save_section

require_router()

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

# ---- columns and cleaning: the pickers (core/ui/upload_columns.py) ------------------------------
schema, meters = column_choices(guess, file_digest)
base = cache.sample_base_options(sample_key) if sample_key else CleanOptions()
options = cleaning_choices(base, file_digest)
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


def file_bytes() -> bytes:
    """The file's bytes, read only when needed (a bundled sample's from its file)."""
    return data if sample_key is None else cache.sample_bytes(sample_key)[0]


fleet_section(meters, schema, options, file_digest, filename, file_bytes)  # core/ui/upload_fleet.py

# ---- saved meters -------------------------------------------------------------------------------
saved = save_section(ds, file_digest, filename, file_bytes)  # core/ui/upload_save.py
delete_section(saved, ref)
