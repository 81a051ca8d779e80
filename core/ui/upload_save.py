"""The Upload page's saved-meter sections: save the file as a meter, delete a saved meter.

``save_section(ds, file_digest, filename, file_bytes)`` stops the page with one line for a visitor
who may not write (``core.ui.auth.write_blocked``: signed out, or a viewer) and while the database
cannot be opened; otherwise it draws "Save as meter": a new meter (named after the file) or a saved
one to merge into by timestamp, with the policy for readings stored with another value, the Save
button (the meter then becomes the current dataset) and the last save's report for this file. It
returns the saved meters' names. ``delete_section(saved, ref)`` draws "Delete a saved meter" (with a
confirmation checkbox per meter) and the line about the last delete; deleting the current dataset's
meter goes back to the default sample. Saving and deleting go through ``core.ui.meters``.

Session keys: ``upload_saved`` (the last save report), ``upload_deleted`` (the last delete's line,
shown once), ``upload_save_target``, ``upload_save_policy``, ``upload_delete_meter`` and
``upload_delete_sure_<meter>``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from core.ingest.data import DataError, Dataset
from core.ingest.refs import DatasetRef
from core.ui import auth, cache
from core.ui import meters as saved_meters
from core.ui.shell import set_dataset
from core.ui.state import kept
from core.ui.status import reported
from core.ui.text import md_escape

NEW_METER = "(a new meter)"
POLICIES = {
    "keep": "Keep the stored values",
    "replace": "Replace them with the file's",
    "skip": "Skip the whole file",
}
SAVED, DELETED = "upload_saved", "upload_deleted"  # session keys: the last save report, delete line


def save_section(
    ds: Dataset, file_digest: str, filename: str, file_bytes: Callable[[], bytes]
) -> list[str]:
    """Save the file as a new meter or into a saved one (stops the page where saving is not open)."""
    blocked = auth.write_blocked("save this file as a meter")  # signed out, or a viewer
    if blocked:
        st.caption(blocked)
        st.stop()
    st.subheader("Save as meter")
    st.caption(
        "A saved meter keeps its readings on this server across restarts, opens from the sidebar on "
        "any page, and records every detection run on it. Saving a newer file into a saved meter "
        "merges it by timestamp; readings stored with another value are reported, never dropped "
        "silently."
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
            report = saved_meters.save_meter(
                meter_name, ds, file_bytes(), filename, on_conflict=policy, source=file_digest
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
    return saved


def delete_section(saved: list[str], ref: DatasetRef) -> None:
    """Delete a saved meter with all its data, after a confirmation; the line about the last one."""
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
