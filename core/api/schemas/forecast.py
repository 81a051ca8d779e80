"""Forecasts of a stored meter.

``ForecastOut``: ``meter``, ``model`` (seasonal_naive | prophet | lstm), ``unit``, ``step``,
``horizon`` (steps), ``notes`` (caveats to read), ``forecast`` (``[{timestamp, expected, lower,
upper}]``: expected values with a band).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ForecastPoint(BaseModel):
    timestamp: str
    expected: float | None
    lower: float | None
    upper: float | None


class ForecastOut(BaseModel):
    """Expected readings after the last stored one, with a band."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "meter": "hall-7",
                    "model": "seasonal_naive",
                    "unit": "kWh",
                    "step": "1h",
                    "horizon": 1,
                    "notes": ["Seasonal naive: each step repeats the reading 168 steps earlier."],
                    "forecast": [
                        {
                            "timestamp": "2025-01-01T00:00:00+01:00",
                            "expected": 40.2,
                            "lower": 35.1,
                            "upper": 46.0,
                        }
                    ],
                }
            ]
        }
    )

    meter: str
    model: str
    unit: str | None
    step: str
    horizon: int
    notes: list[str]
    forecast: list[ForecastPoint]
