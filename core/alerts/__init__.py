"""Alerts wing: rule matching, message text, delivery through Apprise, and the dispatch the worker
calls after scoring a meter.

* ``rules``: pure functions: the event fingerprint, rule / silence validation (``new_rule``,
  ``new_silence``), selectors (all | list | site | type), matching, quiet time, look-back, grouping.
* ``message``: subject and body of a message (meter, when, type, energy and cost, cause, app link).
* ``delivery``: the ``Notifier`` Protocol, ``AppriseNotifier``, retries with backoff, and the log
  filter that keeps channel URLs out of Apprise's and urllib3's logs.
* ``channels``: add a channel (checked, sealed, masked), unseal it to send, send a test message.
* ``dispatch``: ``process(store, meter, events, newest_ts, now)``: Alertmanager semantics (one
  notification per fingerprint and channel, grouping, repeat, resolved, silences, quiet time,
  look-back), the notification log, at-most-once per log row.
* ``status``: whether each event of a meter alerted (for the events table).

May import: ``core.detect``, ``core.labels``, ``core.auth``, ``core.store``, ``core.errors``; the only
wing that imports ``apprise``.
"""
