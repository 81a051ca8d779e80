"""UI wing: the only code that imports streamlit.

- ``cache``: ``st.cache_data`` / ``st.cache_resource`` over datasets, fitted models and forecasts,
  and the detection studio's shared views (events table, CSV, counters, chart per setting);
- ``shell``: navigation, sidebar, current dataset;
- ``status``: the one status / progress / error box (``prepared``, ``reported``);
- ``settings``: what pages share as one typed value (``DetectionChoice``);
- ``state``: widget values that survive navigation (``kept``, ``forget``);
- ``meters``: saved meters in the app (open, save, delete, record runs, last run);
- ``auth``: sign-in in the sidebar (local accounts, or ``st.login`` with an ``[auth]`` secret) and
  what the visitor may do (``current_access``, ``current_owner``, ``can``, ``require_role``);
- ``database``: the app's store, opened once per process (``store``, ``database_exists``);
- ``hosting``: configuration from ``st.secrets`` (``apply_secrets``) and the hosted demo's
  storage notice (``storage_notice``);
- ``text``: ``md_escape`` for file-derived text in markdown;
- ``views``: the Anomaly detection page's shared views (events table, CSV, counters, chart);
- ``labels``, ``alerts``, ``portfolio``, ``fleet_scoring``: the sections of their pages;
- ``upload_columns``, ``upload_fleet``, ``upload_save``: the Upload page's column and cleaning
  pickers, the all-meters fleet section, and save / merge / delete of a saved meter;
- ``studio_controls``, ``studio_results``, ``studio_downloads``: the Anomaly detection page's
  threshold controls (``ThresholdChoice``), counters / label metrics / events table, and downloads.

May import: every other wing.
"""
