"""Explainability page: placeholder until it lands with the detection core."""

import streamlit as st

from pages._sidebar import require_router

require_router()

st.title("Explainability")
st.info(
    "Explainability is coming with the detection core. Meanwhile, try the Anomaly detection page."
)
