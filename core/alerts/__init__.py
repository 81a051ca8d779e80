"""Alert rules, channels (Apprise), silences and the notification log."""
