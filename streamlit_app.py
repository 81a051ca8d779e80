"""WattsUp router: page config, session defaults, navigation, the shared sidebar, then the page."""

import streamlit as st

from core.ui.shell import PAGE_CONFIG, ROUTER_FLAG, session_defaults, sidebar, st_pages

st.set_page_config(**PAGE_CONFIG)  # title "WattsUp", wide layout

for key, value in session_defaults().items():
    st.session_state.setdefault(key, value)

pages = st_pages()
# position="hidden": the sidebar draws the same list with st.page_link, so the labels are ours even
# on a first visit (client.showSidebarNavigation = false keeps the legacy pages/ list away).
page = st.navigation(list(pages.values()), position="hidden")
sidebar(pages)
st.session_state[ROUTER_FLAG] = True  # the page takes it: see core.ui.shell.require_router
page.run()
