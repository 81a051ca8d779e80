"""The app's database handle: ``open_store()`` once per server process, and whether the default
SQLite file exists yet (the sidebar creates no database just to look). ``core.ui.meters`` and
``core.ui.auth`` both use it (kept apart so neither imports the other's internals)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.store.db import Store, database_url, open_store
from core.ui.hosting import apply_secrets


@st.cache_resource(show_spinner=False)
def store() -> Store:
    """The database of ``WATTSUP_DATABASE_URL`` / ``WATTSUP_HOME`` (environment, else secrets),
    opened and migrated once."""
    apply_secrets()
    return open_store()


def database_exists() -> bool:
    """False while the default SQLite file has not been created (no meter was ever saved)."""
    apply_secrets()
    url = database_url()
    if not url.startswith("sqlite:///"):
        return True  # a server database (URL_VAR) is there to be asked
    return Path(url.removeprefix("sqlite:///")).is_file()
