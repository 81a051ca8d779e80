"""One router per resource. ``ROUTERS`` is what ``core.api.app`` mounts under ``/v1``; the health
check sits at the root, outside the caller dependency (load balancers call it without a key)."""

from __future__ import annotations

from core.api.routes import alerts, detection, events, forecast, meters, readings, stateless

ROUTERS = (
    meters.router,
    readings.router,
    detection.router,
    events.router,
    forecast.router,
    stateless.router,
    alerts.router,
)
