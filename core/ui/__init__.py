"""UI wing: the only code that imports streamlit.

- ``cache``: ``st.cache_data`` / ``st.cache_resource`` over datasets, fitted models and forecasts;
- ``shell``: navigation, sidebar, current dataset;
- ``status``: the one status / progress / error box (``prepared``, ``reported``);
- ``settings``: what pages share as one typed value (``DetectionChoice``);
- ``state``: widget values that survive navigation (``kept``, ``forget``).

May import: every other wing.
"""
