"""What people said about events, and what it changes.

* ``feedback``: stored label spans -> the 1 / 0 / NaN series a supervised detector learns from, and
  the spans to draw on a chart (confirmed, dismissed, expected, missed);
* ``metrics``: precision, recall and F1, point- and event-wise, against the user's own labels, beside
  random (``core.detect.evaluation`` does the counting);
* ``suppression``: ``is_like_dismissed``: an event like one the user dismissed (same meter, type,
  time-of-week pattern, similar size) is shown, marked, and does not alert;
* ``suggest``: the sigma threshold that maximises event F1 on the labels.

May import ``core.detect``, ``core.store`` and below; never ``core.ui`` or ``core.api``.
"""
