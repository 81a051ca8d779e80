"""The worker: scheduled jobs (APScheduler) over the store."""
