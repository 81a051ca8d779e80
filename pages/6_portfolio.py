"""Portfolio: every saved meter ranked by wasted energy (fleet scoring)."""

from __future__ import annotations

import streamlit as st

from core.ui.shell import require_router

require_router()

st.title("Portfolio")
st.info("Fleet scoring arrives here.")
