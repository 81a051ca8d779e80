"""The labelling section of the Anomaly detection page: mark events, see what labels change.

``labels_section(ref, scored, flags, events, threshold)`` renders, for a saved meter only (labels
belong to stored meters): a form to mark an event real / not an anomaly / expected with a note, a
form to mark a missed span, the meter's labels, metrics on them (beside random), the threshold
that maximises event F1 on them with an Apply button, and retraining with the versions kept
(current vs previous on today's labels, roll back). The forms, Apply, Retrain and Roll back are
offered only to a visitor who may write (``core.ui.auth.can("write")``: an analyst or admin); a
viewer sees the labels, metrics, suggestion and versions with one line saying why. A label's
author is the signed-in user. Everything it computes comes from ``core.labels``; the stores are
``core.store.labels`` and ``core.store.model_versions``.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.detect.thresholds import ThresholdSettings
from core.errors import DataError
from core.ingest.refs import DatasetRef
from core.labels.feedback import label_kinds
from core.labels.metrics import SHOWN, label_metrics
from core.labels.retrain import retrain_meter, version_metrics
from core.labels.suggest import suggest_threshold, suggestion_shortfall
from core.labels.suppression import MARK, mark_like_dismissed
from core.store.labels import SqlLabelRepository
from core.store.model_versions import SqlModelVersionRepository
from core.store.schema import VERDICTS
from core.ui import auth
from core.ui.database import store

VERDICT_TEXT = {"real": "Real anomaly", "not_anomaly": "Not an anomaly", "expected": "Expected"}
# how each kind of label is shaded on the chart (core.labels.feedback.KINDS)
KIND_COLOURS = {
    "confirmed": "rgba(214, 39, 40, 0.18)",
    "missed": "rgba(148, 103, 189, 0.22)",
    "dismissed": "rgba(127, 127, 127, 0.18)",
    "expected": "rgba(44, 160, 44, 0.18)",
}


def with_label_shapes(fig, ref: DatasetRef):
    """A copy of ``fig`` with the meter's labels shaded (confirmed, missed, dismissed, expected);
    ``fig`` itself is shared across sessions and never mutated. Unchanged for data not a meter."""
    if ref.source != "meter":
        return fig
    try:
        labels = SqlLabelRepository(store()).list(ref.name, owner=auth.current_owner())
    except DataError:
        return fig
    if labels.empty:
        return fig
    out = go.Figure(fig)
    for row in label_kinds(labels).itertuples(index=False):
        out.add_vrect(
            x0=row.start,
            x1=row.end,
            fillcolor=KIND_COLOURS[row.kind],
            line_width=0,
            layer="below",
            annotation_text=row.kind,
            annotation_position="top left",
            name=f"label: {row.kind}",
        )
    return out


def labels_section(
    ref: DatasetRef,
    scored: pd.DataFrame,
    flags: pd.Series,
    events: pd.DataFrame,
    threshold: ThresholdSettings,
) -> None:
    """The section (see the module docstring); one info line for data that is not a saved meter."""
    st.subheader("Labels")
    if ref.source != "meter":
        st.info("Save this data as a meter to label its events: labels belong to saved meters.")
        return
    repo = SqlLabelRepository(store())
    owner = auth.current_owner()
    writer = auth.can("write")
    try:
        _like_dismissed(repo, ref, events, owner)
        if writer:
            _mark_event(repo, ref, events, owner)
            _mark_missed(repo, ref, scored, owner)
        elif blocked := auth.write_blocked("label events"):
            st.caption(blocked)
        labels = repo.list(ref.name, owner=owner)
        _metrics(labels, scored, flags, threshold, writer)
        _versions(repo, ref, owner, writer)
    except DataError as err:
        st.error(str(err))


def _like_dismissed(repo: SqlLabelRepository, ref: DatasetRef, events: pd.DataFrame, owner) -> None:
    """Name the events that repeat one the user dismissed: shown, marked, never alerted."""
    if events is None or events.empty:
        return
    like = mark_like_dismissed(events, repo.dismissed_events(ref.name, owner=owner))
    if like.any():
        when = ", ".join(f"{t:%Y-%m-%d %H:%M}" for t in events.loc[like, "start"])
        st.caption(f"{int(like.sum())} events are {MARK} (no alerts for them): {when}.")


def _mark_event(repo: SqlLabelRepository, ref: DatasetRef, events: pd.DataFrame, owner) -> None:
    if events is None or events.empty:
        return
    with st.container(border=True):
        options = list(range(len(events)))
        pick = st.selectbox(
            "Event",
            options,
            format_func=lambda i: (
                f"{events['start'].iloc[i]:%Y-%m-%d %H:%M} {events['type'].iloc[i]}"
            ),
            key="labels_event",
        )
        verdict = st.radio(
            "Verdict", VERDICTS, format_func=VERDICT_TEXT.get, horizontal=True, key="labels_verdict"
        )
        note = st.text_input("Note (optional)", key="labels_note")
        if st.button("Save label", key="labels_save"):
            row = events.iloc[int(pick)]
            repo.add(
                ref.name,
                row["start"],
                row["end"],
                verdict,
                note=note or None,
                author=_author(),
                owner=owner,
            )
            st.success("Label saved.")


def _mark_missed(repo: SqlLabelRepository, ref: DatasetRef, scored: pd.DataFrame, owner) -> None:
    with st.expander("Mark a missed anomaly"):
        first, last = scored.index[0], scored.index[-1]
        start = st.text_input("From", value=f"{first:%Y-%m-%d %H:%M}", key="labels_missed_start")
        end = st.text_input("To", value=f"{first:%Y-%m-%d %H:%M}", key="labels_missed_end")
        note = st.text_input("Note (optional)", key="labels_missed_note")
        st.caption(f"The data runs from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}.")
        if st.button("Save missed span", key="labels_save_missed"):
            repo.add(ref.name, start, end, "real", note=note or None, author=_author(), owner=owner)
            st.success("Missed span saved.")


def _author() -> str | None:
    """The signed-in user's name (None for the workspace, which has no users)."""
    access = auth.current_access()
    return None if access is None else access.user


def _metrics(
    labels: pd.DataFrame, scored, flags, threshold: ThresholdSettings, writer: bool
) -> None:
    st.caption(f"{len(labels)} labels on this meter.")
    if labels.empty:
        return
    st.dataframe(labels.drop(columns=["id"]), hide_index=True, key="labels_table")
    m = label_metrics(labels, scored, flags)
    st.dataframe(
        pd.DataFrame(
            {
                "metric": list(SHOWN),
                "on your labels": [m[k] for k in SHOWN],
                "random": [m[f"random_{k}"] for k in SHOWN],
            }
        ),
        hide_index=True,
        key="labels_metrics",
    )
    suggestion = suggest_threshold(scored, labels, threshold)
    shortfall = suggestion_shortfall(labels)
    if shortfall is not None:
        st.caption(shortfall)
    elif suggestion is not None and not suggestion.better:
        st.caption(
            f"No other threshold does clearly better on your labels than {suggestion.current_k:.2f}."
        )
    if suggestion is not None and suggestion.better:
        st.write(
            f"Suggested threshold: **{suggestion.k:.2f}**: on the span you labelled, F1 "
            f"{suggestion.f1:.2f} and event F1 {suggestion.event_f1:.2f}; now "
            f"{suggestion.current_f1:.2f} and {suggestion.current_event_f1:.2f}."
        )
        if writer and st.button("Apply suggested threshold", key="labels_apply_k"):
            st.session_state["detect_k"] = float(suggestion.k)
            st.rerun()


def _versions(repo: SqlLabelRepository, ref: DatasetRef, owner, writer: bool) -> None:
    if writer and st.button("Retrain with new data", key="labels_retrain"):
        with st.spinner("Training the learned detector on your labels"):
            made = retrain_meter(store(), ref.name, owner=owner)
        st.success(
            f"Version {made.version.version} saved: detection with the learned detector on this "
            "meter uses it from now on."
        )
    versions_repo = SqlModelVersionRepository(store())
    versions = versions_repo.versions(ref.name, owner=owner)
    if not versions:
        return
    shown = versions[:2]  # the newest and the one before: current vs previous
    rows = []
    for v in shown:
        now = version_metrics(store(), ref.name, v, owner=owner)
        rows.append(
            {
                "version": v.version,
                "current": v.current,
                "trained": str(v.created)[:16],
                **{k: now[k] for k in ("precision", "recall", "event_f1")},
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="labels_versions")
    rollback = writer and len(versions) > 1
    if rollback and st.button("Roll back to the previous version", key="labels_rollback"):
        v = versions_repo.rollback(ref.name, owner=owner)
        st.success(f"Version {v.version} is current again.")
