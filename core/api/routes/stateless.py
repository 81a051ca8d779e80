"""``POST /v1/detect/entire`` and ``/v1/detect/last``: Azure Anomaly Detector compatible
detection on a series sent in the request (nothing is stored)."""

from __future__ import annotations

from fastapi import APIRouter

from core.api.problems import responses
from core.api.schemas.stateless import EntireOut, LastOut, SeriesRequest
from core.api.stateless import detect_entire, detect_last

router = APIRouter(tags=["stateless detection"])


@router.post("/detect/entire", response_model=EntireOut, responses=responses(400, 413, 422))
def entire(body: SeriesRequest) -> dict:
    """Judge every point of the series (Azure's ``timeseries/entire/detect``)."""
    return detect_entire(body)


@router.post("/detect/last", response_model=LastOut, responses=responses(400, 413, 422))
def last(body: SeriesRequest) -> dict:
    """Judge the last point after the others (Azure's ``timeseries/last/detect``)."""
    return detect_last(body)
