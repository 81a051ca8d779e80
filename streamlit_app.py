"""WattsUp router: page config, session defaults, navigation, the shared sidebar, then the page."""

import streamlit as st

from pages._sidebar import NAV, session_defaults, sidebar

st.set_page_config(page_title="WattsUp", page_icon="⚡", layout="wide")

for key, value in session_defaults().items():
    st.session_state.setdefault(key, value)

pages = {
    nav.url_path: st.Page(
        nav.path, title=nav.title, url_path=nav.url_path, icon=nav.icon, default=nav.default
    )
    for nav in NAV
}
# position="hidden": the sidebar draws the same list with st.page_link, so the labels are ours even
# on a first visit (client.showSidebarNavigation = false keeps the legacy pages/ list away).
page = st.navigation(list(pages.values()), position="hidden")
sidebar(pages)
page.run()
