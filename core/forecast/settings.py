"""``ForecastSettings``: one forecast's model, horizon, holidays and temperature; frozen, so it keys caches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from core.detect.pipeline import DetectorSettings


@dataclass(frozen=True)
class ForecastSettings:
    """One forecast: which model, how far ahead, holidays and temperature; frozen, so it keys caches."""

    model: Literal["prophet", "lstm"] = "prophet"
    horizon_steps: int = 30 * 24
    country: str | None = None
    use_temperature: bool = True
    params: tuple[tuple[str, Any], ...] = ()

    def detector_settings(self):
        """The detector behind the forecast: fitted once by ``pipeline.fit_detector`` (disk cache)
        and shared with the Anomaly detection page when it uses the same settings."""
        params = dict(self.params)
        params["use_temperature"] = self.use_temperature
        if self.model == "prophet" and self.country:
            params["country"] = self.country
        return DetectorSettings.of(self.model, **params)
