"""Widget values that survive navigation.

Streamlit drops the state of every widget a run does not draw, so a page's sliders were back at their
defaults after a visit to another page (and a slider hidden by another threshold mode lost its value
on the same page). Every page therefore creates its widgets as ``st.slider(..., key=kept("detect_k",
2.0))``: ``kept`` copies the widget's value into a plain session key, ``"<key>.kept"``, which
Streamlit never drops, and when the widget's own key is gone it seeds it back from there (or from
``default`` on a first visit) before the widget is drawn. The widget then takes no ``value=``/``index=``
of its own: its value always comes from session state.

Why not the other usual trick, ``st.session_state[k] = st.session_state[k]`` for every widget key at
the top of each run: it needs one list of every page's keys in the router, and it raises for the widgets
whose value cannot be set (buttons, file uploaders, table selections). Why not Streamlit 1.67's own
``persist_state="session"``: it is new, and its interplay with the values pages write themselves
(``explain_pick``, ``explain_view``) and with ``del`` on a dataset switch is not documented; ``kept``
uses only reads and writes of session state, which every Streamlit version treats the same. A kept
value sits beside its widget and has its prefix, so ``forget("explain_")`` drops both.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

SUFFIX = ".kept"


def kept(key: str, default: Any) -> str:
    """``key``, with the widget ``key`` seeded from its kept value (``default`` the first time)."""
    state = st.session_state
    if key not in state:  # first visit, or dropped by a run on another page
        state[key] = state.get(key + SUFFIX, default)
    state[key + SUFFIX] = state[key]
    return key


def forget(prefix: str) -> None:
    """Drop every session key starting with ``prefix``: widget values and their kept copies."""
    for key in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[key]
