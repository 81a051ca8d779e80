"""``DispatchReport``: what one ``core.alerts.dispatch.process`` call did, counted by each step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DispatchReport:
    """What one ``process`` call did (``notifications``: the log rows it touched, URLs masked)."""

    meter: str
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    resolved: int = 0
    interrupted: int = 0
    skipped: int = 0
    outside_lookback: int = 0
    planned: int = 0
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)
