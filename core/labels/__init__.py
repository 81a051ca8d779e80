"""What people said about events, and what it changes."""
