"""``GET /v1/meters/{meter}/forecast``: expected readings after the last stored one, with a band."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from core.api import limits
from core.api.deps import CallerDep, MeterName, MetersDep
from core.api.problems import responses
from core.api.schemas.common import Time, number
from core.api.schemas.forecast import ForecastOut
from core.api.stored import forecast_meter
from core.ingest.quality import step_label

router = APIRouter(tags=["forecast"])


@router.get(
    "/meters/{meter}/forecast", response_model=ForecastOut, responses=responses(404, 422, 503)
)
def forecast(
    meter: MeterName,
    repo: MetersDep,
    caller: CallerDep,
    horizon: Annotated[
        int, Query(ge=1, le=limits.MAX_FORECAST_STEPS, description="steps ahead")
    ] = 24,
    model: Annotated[
        Literal["seasonal_naive", "prophet", "lstm"],
        Query(description="seasonal_naive (no training), prophet or lstm (fitted once, cached)"),
    ] = "seasonal_naive",
    start: Annotated[Time | None, Query(description="history from this time")] = None,
    end: Annotated[Time | None, Query(description="history before this time")] = None,
) -> dict:
    """Forecast ``horizon`` steps past the meter's last reading (in ``[start, end)``)."""
    series, result = forecast_meter(
        repo, meter, horizon, model, owner=caller.owner, start=start, end=end
    )
    future = result.future
    return {
        "meter": series.meter.name,
        "model": result.model,
        "unit": series.meter.unit,
        "step": step_label(series.step),
        "horizon": horizon,
        "notes": list(result.notes),
        "forecast": [
            {
                "timestamp": when.isoformat(),
                "expected": number(row.expected),
                "lower": number(row.lower),
                "upper": number(row.upper),
            }
            for when, row in zip(future.index, future.itertuples(index=False), strict=True)
        ],
    }
