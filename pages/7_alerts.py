"""Alerts: rules, channels, silences and the notification history."""

from __future__ import annotations

import streamlit as st

from core.ui.shell import require_router

require_router()

st.title("Alerts")
st.info("Alert rules and channels arrive here.")
