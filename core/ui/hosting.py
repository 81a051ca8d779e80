"""Where the app runs: its configuration from ``st.secrets`` or the environment, and the hosted
demo's storage notice.

A host such as Streamlit Community Cloud takes settings as secrets (``.streamlit/secrets.toml``,
or the app's Secrets box), not as environment variables. ``apply_secrets`` copies the root-level
``WATTSUP_DATABASE_URL`` and ``WATTSUP_HOME`` secrets into the environment, where ``core.store``
reads them, unless the environment already sets them (the environment wins). Streamlit copies
root-level string secrets into ``os.environ`` itself when it reads the file; this makes it not
depend on that, and on it having happened before the first page opened the database.

``storage_notice`` is the sentence the sidebar shows when saved data lives in the local SQLite file
(no ``WATTSUP_DATABASE_URL``) on a host whose disk is not kept: Community Cloud rebuilds an app's
container on a restart or a redeploy, and the file goes with it. Hosted means ``WATTSUP_HOSTED`` is
true (``1``, ``true``, ``yes``, ``on``), or, when that variable is unset, that the app's code is
checked out under ``/mount/src/``, where Community Cloud puts every app (``WATTSUP_HOSTED=0``
silences the notice there).

``lstm_enabled`` says whether the app offers the LSTM (its forecast overlay and backtest row, the
detector, its explainer). ``WATTSUP_LSTM`` decides when set (secret or environment: ``on`` /
``off``); unset, the LSTM is off on a hosted server and on everywhere else. TensorFlow alone adds
about 470 MiB to the app's memory and the first fit about 200 more (docs/benchmarks.md, "Hosted app
memory"): with it a session goes past Community Cloud's 1 GB, without it the app stays well under.
``LSTM_OFF`` is what the pages say where the LSTM would have been.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from core.store.db import HOME_VAR, URL_VAR

HOSTED_VAR = "WATTSUP_HOSTED"
LSTM_VAR = "WATTSUP_LSTM"
LSTM = "lstm"  # the registry's, forecasting's and the explainers' name for it
CONFIG_KEYS = (URL_VAR, HOME_VAR, HOSTED_VAR, LSTM_VAR)
CLOUD_CHECKOUT = Path("/mount/src")  # Community Cloud's checkout of every app's repository
APP_ROOT = Path(__file__).resolve().parents[2]
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
NOTICE = (
    "Hosted demo: saved meters, uploads and alert settings are kept in a local SQLite file on this "
    "server, which may not persist (a restart or a redeploy starts empty). Set "
    f"`{URL_VAR}` to keep them in a database."
)
LSTM_OFF = (
    "The LSTM is off on this server: TensorFlow needs about 700 MB of memory, more than a hosted "
    f"app has to spare (set `{LSTM_VAR}=on` where the machine has 2 GB or more). Prophet, the "
    "Isolation Forest and the other detectors work as usual."
)


def apply_secrets() -> None:
    """Copy the ``CONFIG_KEYS`` secrets (root level, non-empty strings) into ``os.environ`` where
    the environment does not set them; no secrets file is not an error."""
    missing = [k for k in CONFIG_KEYS if not os.environ.get(k, "").strip()]
    if not missing:
        return
    try:
        found = {k: st.secrets.get(k) for k in missing}
    except Exception:  # no secrets file at all, or an unreadable one: Streamlit raises its own
        return
    for key, value in found.items():
        if isinstance(value, bool):  # TOML's true / false for the on / off settings
            value = "1" if value else "0"
        if isinstance(value, str) and value.strip():
            os.environ[key] = value.strip()


def _flag(var: str) -> bool | None:
    """``var`` as an on / off setting; None when unset or neither."""
    flag = os.environ.get(var, "").strip().lower()
    return True if flag in TRUE else False if flag in FALSE else None


def hosted(root: Path = APP_ROOT) -> bool:
    """True on a host whose disk is not kept (see the module docstring)."""
    flag = _flag(HOSTED_VAR)
    return root.is_relative_to(CLOUD_CHECKOUT) if flag is None else flag


def lstm_enabled(root: Path = APP_ROOT) -> bool:
    """Whether the app offers the LSTM (see the module docstring)."""
    apply_secrets()
    flag = _flag(LSTM_VAR)
    return not hosted(root) if flag is None else flag


def available(names, root: Path = APP_ROOT) -> list[str]:
    """``names`` (detectors, forecast models, explainers) without the LSTM where it is off."""
    return [n for n in names if n != LSTM or lstm_enabled(root)]


def storage_notice() -> str | None:
    """``NOTICE`` when saved data goes to the local SQLite file on a hosted server, else None."""
    apply_secrets()
    if os.environ.get(URL_VAR, "").strip() or not hosted():
        return None
    return NOTICE
