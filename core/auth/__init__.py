"""Users, organisations, passwords, API keys and sealed secrets."""
