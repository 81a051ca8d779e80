"""``POST /v1/meters/{meter}/detect``: the one detection run on a stored meter, recorded."""

from __future__ import annotations

from fastapi import APIRouter

from core.api.deps import MeterName, RunsDep, StoreDep, WriterDep
from core.api.present import events_out, run_out
from core.api.problems import ApiError, FieldError, responses
from core.api.schemas.detection import DetectionOut, DetectRequest
from core.api.stored import detect_meter

router = APIRouter(tags=["detection"])


@router.post(
    "/meters/{meter}/detect", response_model=DetectionOut, responses=responses(404, 422, 503)
)
def detect(
    meter: MeterName, body: DetectRequest, store: StoreDep, runs: RunsDep, caller: WriterDep
) -> dict:
    """Detect anomalies in the meter's stored readings with the given detector and threshold
    (the model is loaded from the cache when these readings were fitted before; with ``learned``,
    the meter's current model version when its labels trained one), record the run, and answer
    it with its events."""
    try:
        threshold = body.threshold.settings()
    except ValueError as err:
        raise ApiError(
            422, f"threshold: {err}", errors=[FieldError(field="threshold", message=str(err))]
        ) from None
    run, detection = detect_meter(
        store,
        meter,
        body.detector,
        threshold,
        owner=caller.owner,
        start=body.start,
        end=body.end,
        warmup=body.warmup,
    )
    return {
        "run": run_out(run),
        "summary": detection.summary(),
        "events": events_out(runs.events(run, ids=True), run.id),
    }
