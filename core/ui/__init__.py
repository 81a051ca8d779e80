"""UI wing: the only code that imports streamlit. Caches (``st.cache_data`` / ``st.cache_resource``),
the app shell (navigation, sidebar, current dataset), the one status / progress / error box, and the
settings the pages share as one typed value.

May import: every other wing.
"""
