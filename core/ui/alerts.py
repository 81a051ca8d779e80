"""The Alerts page's sections: rules (create, edit, disable), channels (add, test; URLs masked),
silences, and the notification history with filters.

Each ``*_section(owner, ...)`` draws one tab over ``core.alerts`` and ``core.store.alerts``; the page
only picks the tab. A mistake in a form (a bad URL, an unknown type) is one ``st.error`` line and the
rest of the page stays. The channel URL field is a password field and is cleared after saving; a
stored URL is only ever shown masked. Nothing here sends on a schedule: the worker does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from core.alerts.channels import add_channel, send_test
from core.alerts.rules import DAYS, new_rule, new_silence, selector_text
from core.detect.events import TYPES
from core.errors import DataError
from core.store.alerts import SqlAlertRepository
from core.store.schema import NOTIFICATION_KINDS, NOTIFICATION_STATUSES
from core.ui.database import store

T = TypeVar("T")
NEW = "(new rule)"
ANY = "(any)"


def repo() -> SqlAlertRepository:
    """The alerts repository over the app's store."""
    return SqlAlertRepository(store())


def _attempt(work: Callable[[], T], done: str) -> T | None:
    """``work()``; a DataError becomes one error line (the page goes on), success one line."""
    try:
        result = work()
    except DataError as err:
        st.error(str(err), icon=":material/error:")
        return None
    st.success(done, icon=":material/check:")
    return result


def _table(rows: list[dict[str, Any]], columns: list[str], key: str, empty: str) -> None:
    if not rows:
        st.caption(empty)
        return
    frame = pd.DataFrame(rows)
    st.dataframe(frame[[c for c in columns if c in frame]], hide_index=True, key=key)


# ---- rules ---------------------------------------------------------------------------------------
def rules_section(owner: str | None, *, can_write: bool) -> None:
    """The rules table; a form to create or edit one; disable / enable."""
    rules = repo().rules(owner=owner)
    channels = [c.name for c in repo().channels(owner=owner)]
    rows = [{**r.to_dict(), "meters": selector_text(r.selector, r.selector_values)} for r in rules]
    _table(
        rows,
        [
            "name",
            "enabled",
            "meters",
            "min_score",
            "types",
            "min_excess",
            "channels",
            "quiet_hours",
        ],
        "alerts_rules_table",
        "No rules yet: add a channel, then a rule.",
    )
    if not can_write:
        return
    names = [r.name for r in rules]
    pick = st.selectbox("Create or edit", [NEW, *names], key="alerts_rule_pick")
    current = next((r for r in rules if r.name == pick), None)
    with st.form("alerts_rule_form", clear_on_submit=False):
        name = st.text_input("Name", value=current.name if current else "", key="alerts_rule_name")
        meters = st.text_input(
            "Meters",
            value=selector_text(current.selector, current.selector_values) if current else "all",
            help="all, M1,M2, site:SITE or type:BUILDING_TYPE",
            key="alerts_rule_meters",
        )
        chosen = st.multiselect(
            "Channels",
            channels,
            default=[c for c in (current.channels if current else ()) if c in channels],
            key="alerts_rule_channels",
        )
        min_score = st.number_input(
            "Minimum peak score",
            min_value=0.0,
            value=float(current.min_score or 0.0) if current else 0.0,
            key="alerts_rule_score",
        )
        types = st.multiselect(
            "Event types (none = all)",
            list(TYPES),
            default=list(current.types or ()) if current else [],
            key="alerts_rule_types",
        )
        min_excess = st.number_input(
            "Minimum energy off expected (kWh)",
            min_value=0.0,
            value=float(current.min_excess or 0.0) if current else 0.0,
            key="alerts_rule_excess",
        )
        tariff = st.number_input(
            "Tariff (per kWh, for the cost in messages; 0 = none)",
            min_value=0.0,
            value=float(current.tariff or 0.0) if current else 0.0,
            key="alerts_rule_tariff",
        )
        quiet = st.text_input(
            "Quiet hours (HH:MM-HH:MM, meter's time zone)",
            value=(current.quiet_hours or "") if current else "",
            key="alerts_rule_quiet",
        )
        days = st.multiselect(
            "Quiet days",
            list(DAYS),
            default=list(current.quiet_days) if current else [],
            key="alerts_rule_days",
        )
        enabled = st.checkbox(
            "Enabled", value=current.enabled if current else True, key="alerts_rule_enabled"
        )
        submitted = st.form_submit_button("Save rule", type="primary", key="alerts_rule_save")
    if submitted:

        def save():
            rule = new_rule(
                name,
                channels=chosen,
                meters=meters,
                min_score=min_score or None,
                types=types or None,
                min_excess=min_excess or None,
                tariff=tariff or None,
                quiet_hours=quiet or None,
                quiet_days=days,
                enabled=enabled,
                group_wait=current.group_wait_s if current else None,
                repeat_interval=current.repeat_interval_s if current else None,
                lookback=current.lookback_s if current else None,
                owner=owner,
            )
            return repo().save_rule(rule, replace=current is not None and current.name == name)

        _attempt(save, f"Rule {name!r} saved.")
    if current is not None:
        label = "Disable rule" if current.enabled else "Enable rule"
        if st.button(label, key="alerts_rule_toggle"):
            _attempt(
                lambda: repo().save_rule(
                    replace(current, enabled=not current.enabled), replace=True
                ),
                f"Rule {current.name!r} {'disabled' if current.enabled else 'enabled'}.",
            )


# ---- channels ------------------------------------------------------------------------------------
def channels_section(owner: str | None, *, can_admin: bool) -> None:
    """The channels (URLs masked); add one; send a test message."""
    channels = repo().channels(owner=owner)
    _table(
        [c.to_dict() for c in channels],
        ["name", "kind", "url", "created"],
        "alerts_channels_table",
        "No channels yet.",
    )
    if not can_admin:
        st.caption("Adding and testing channels needs the admin role.")
        return
    with st.form("alerts_channel_form", clear_on_submit=True):
        name = st.text_input("Channel name", key="alerts_channel_name")
        url = st.text_input(
            "Apprise URL",
            type="password",
            help="mailto://HOST:PORT?from=ADDR&to=ADDR, mailtos://user:pass@host, json://host/path, "
            "slack://..., ntfy://...: stored encrypted, shown masked",
            key="alerts_channel_url",
        )
        submitted = st.form_submit_button("Add channel", type="primary", key="alerts_channel_add")
    if submitted:
        _attempt(lambda: add_channel(store(), name, url, owner=owner), f"Channel {name!r} added.")
    if channels:
        pick = st.selectbox("Channel", [c.name for c in channels], key="alerts_test_pick")
        if st.button("Send test message", key="alerts_test_send"):
            row = send_test(store(), pick, owner=owner)
            if row.status == "sent":
                st.success(f"Test message sent to {pick}.", icon=":material/check:")
            else:
                st.error(f"{pick} failed: {row.reason}", icon=":material/error:")


# ---- silences ------------------------------------------------------------------------------------
def silences_section(owner: str | None, *, who: str | None, can_write: bool) -> None:
    """Active and past silences; add one; end one now."""
    silences = repo().silences(owner=owner)
    now = datetime.now(UTC)
    rows = [
        {
            **s.to_dict(),
            "meters": selector_text(s.selector, s.selector_values),
            "active": s.starts <= now < s.ends,
        }
        for s in silences
    ]
    _table(
        rows,
        ["id", "active", "meters", "types", "starts", "ends", "created_by", "comment"],
        "alerts_silences_table",
        "No silences.",
    )
    if not can_write:
        return
    with st.form("alerts_silence_form", clear_on_submit=True):
        meters = st.text_input("Meters", value="all", key="alerts_silence_meters")
        until = st.text_input(
            "Until",
            value="2h",
            help="a duration (2h, 3d) or an ISO time",
            key="alerts_silence_until",
        )
        why = st.text_input("Why", key="alerts_silence_why")
        submitted = st.form_submit_button("Add silence", type="primary", key="alerts_silence_add")
    if submitted:
        _attempt(
            lambda: repo().add_silence(
                new_silence(meters, until=until, now=now, created_by=who, comment=why, owner=owner)
            ),
            "Silence added.",
        )
    active = [s.id for s in silences if s.starts <= now < s.ends]
    if active:
        pick = st.selectbox("Active silence", active, key="alerts_silence_pick")
        if st.button("End silence now", key="alerts_silence_end"):
            _attempt(lambda: repo().end_silence(pick, now, owner=owner), f"Silence #{pick} ended.")


# ---- history -------------------------------------------------------------------------------------
def history_section(owner: str | None) -> None:
    """The notification log, newest first, filtered by meter, channel, status and kind."""
    cols = st.columns(4)
    meter = cols[0].text_input("Meter", key="alerts_log_meter")
    channel = cols[1].text_input("Channel", key="alerts_log_channel")
    status = cols[2].selectbox("Status", [ANY, *NOTIFICATION_STATUSES], key="alerts_log_status")
    kind = cols[3].selectbox("Kind", [ANY, *NOTIFICATION_KINDS], key="alerts_log_kind")
    rows = repo().log(
        owner=owner,
        meter=meter.strip() or None,
        channel=channel.strip() or None,
        status=None if status == ANY else status,
        kind=None if kind == ANY else kind,
        limit=500,
    )
    _table(
        [n.to_dict() for n in rows],
        ["updated", "meter", "kind", "channel", "status", "reason", "attempts", "rule", "subject"],
        "alerts_log_table",
        "Nothing logged yet: the worker (python -m core worker) sends and logs alerts.",
    )
