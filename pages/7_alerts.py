"""Alerts: rules, channels, silences and the notification history."""

from __future__ import annotations

import streamlit as st

from core.ui.alerts import channels_section, history_section, rules_section, silences_section
from core.ui.auth import can, require_role
from core.ui.shell import require_router
from core.ui.status import reported

require_router()

st.title("Alerts")
st.caption(
    "Who hears about which events, and how: the worker (python -m core worker) scores new readings "
    "and sends through these channels; every message is in the history."
)
access = require_role("viewer")

rules, channels, silences, history = st.tabs(["Rules", "Channels", "Silences", "History"])
with reported("Reading the alerts", what_to_do="Check the database settings."):
    with rules:
        rules_section(access.owner, can_write=can("write"))
    with channels:
        channels_section(access.owner, can_admin=can("admin"))
    with silences:
        silences_section(access.owner, who=access.user, can_write=can("write"))
    with history:
        history_section(access.owner)
