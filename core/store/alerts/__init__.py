"""Alerts in the database: channels, rules, silences, alert states and the notification log.

``AlertRepository`` is the seam the alerts wing, the CLI, the API and the page call;
``SqlAlertRepository`` the one implementation (SQLite and PostgreSQL). The store sits below
``core.auth`` and ``core.alerts``: it keeps a channel's URL as the sealed token it is handed and the
masked text to show, and never sees the URL in clear. Every call takes ``owner`` (None = the
workspace); a row of another owner answers "not found" exactly like a missing one.

============  ====================================================================================
module        what it holds
============  ====================================================================================
``records``   the records handed out (``Channel``, ``AlertRule``, ``Silence``, ``AlertState``,
              ``Notification``), the ``AlertRepository`` protocol, the defaults
``rows``      database rows <-> records, and the owner filter
``settings``  what a person configures: channels, rules, silences
``delivery``  what sending records: alert states, the notification log (dedup by ``claim``)
============  ====================================================================================
"""

from __future__ import annotations

from core.store.alerts.delivery import AlertDelivery, pending_rows
from core.store.alerts.records import (
    DEFAULT_GROUP_WAIT_S,
    DEFAULT_LOOKBACK_S,
    DEFAULT_REPEAT_INTERVAL_S,
    AlertRepository,
    AlertRule,
    AlertState,
    Channel,
    ExistsError,
    Notification,
    Silence,
    utc,
)
from core.store.alerts.settings import AlertSettings
from core.store.db import Store

__all__ = [
    "DEFAULT_GROUP_WAIT_S",
    "DEFAULT_LOOKBACK_S",
    "DEFAULT_REPEAT_INTERVAL_S",
    "AlertRepository",
    "AlertRule",
    "AlertState",
    "Channel",
    "ExistsError",
    "Notification",
    "Silence",
    "SqlAlertRepository",
    "pending_rows",
    "utc",
]


class SqlAlertRepository(AlertSettings, AlertDelivery):
    """``AlertRepository`` over a :class:`~core.store.db.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
