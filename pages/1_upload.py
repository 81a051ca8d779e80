"""Upload: drop in a file (or pick a bundled sample), check the columns, read the quality report, use it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.charts.series import series_figure
from core.ingest.data import MAX_UPLOAD_MB, CleanOptions, Schema, check_upload
from core.ui import cache
from core.ui.shell import current_ref, describe, plotly_template, require_router
from core.ui.state import forget, kept
from core.ui.status import reported
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
HINT = (
    "Expected: one timestamp column and one numeric consumption column (wide or long format; "
    "CSV, JSON, Parquet or TXT). Use the column choices above to point at the right columns."
)

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
    with reported("Reading the file", what_to_do=CHECK_FILE, hint=HINT):
        check_upload(len(data), filename)  # the name and the size, in the MB Streamlit counts
    digest = seen.get(source.file_id)
    if digest is None or not cache.upload_held(digest):
        digest = seen[source.file_id] = cache.remember_upload(data, filename)

# widget keys below are per file, so a new file starts from its own detected columns
file_digest = digest or f"sample-{sample_key}"
with reported("Reading the file", what_to_do=CHECK_FILE, hint=HINT):
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

is_current = new_ref == ref
if st.button(
    "Use this dataset",
    type="primary",
    disabled=is_current,
    help="Makes this the dataset every page works on.",
    key="upload_use",
):
    st.session_state["dataset_key"] = new_ref
    forget("explain_")  # events, picks and views of another dataset
    st.rerun()
if is_current:
    st.success(
        f"**{md_escape(ds.name)}** is the current dataset. Open **Anomaly detection** to find anomalies."
    )
    st.page_link(
        "pages/3_anomaly_detection.py", label="Go to anomaly detection", icon=":material/warning:"
    )
