"""``/v1/meters/{meter}/readings``: push readings (JSON, NDJSON or CSV; idempotent on time) and
read them back, optionally resampled."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from core.api import limits
from core.api.batch import Batch, Unreadable, UnsupportedMedia, parse_batch
from core.api.deps import CallerDep, MeterName, MetersDep, WriterDep
from core.api.present import readings_out
from core.api.problems import ApiError, FieldError, responses
from core.api.schemas.common import Time, iso
from core.api.schemas.readings import ReadingsPage, ReadingsReport
from core.api.stored import meter_head, resample
from core.ingest.cleaning import parse_freq
from core.ingest.quality import step_label
from core.store.meters import SqlMeterRepository

router = APIRouter(tags=["readings"])
LISTED = 1_000  # rejected rows listed in a report (the count is always complete)

_ROW = {
    "type": "object",
    "required": ["timestamp", "value"],
    "properties": {
        "timestamp": {"type": ["string", "number"], "description": "ISO 8601 or Unix seconds"},
        "value": {"type": ["number", "null"], "description": "null: a missing reading"},
    },
    "additionalProperties": {"type": ["number", "null"], "description": "covariates"},
}
_BODY = {
    "requestBody": {
        "required": True,
        "description": "Readings as a JSON list, NDJSON (one object per line) or CSV with a header.",
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": _ROW},
                "example": [
                    {"timestamp": "2024-01-01T00:00:00+01:00", "value": 41.5, "temperature": 3.2},
                    {"timestamp": "2024-01-01T01:00:00+01:00", "value": 39.0, "temperature": 3.0},
                ],
            },
            "application/x-ndjson": {
                "schema": {"type": "string"},
                "example": '{"timestamp": "2024-01-01T00:00:00+01:00", "value": 41.5}\n'
                '{"timestamp": "2024-01-01T01:00:00+01:00", "value": 39.0}\n',
            },
            "text/csv": {
                "schema": {"type": "string"},
                "example": "timestamp,value,temperature\n2024-01-01T00:00:00+01:00,41.5,3.2\n"
                "2024-01-01T01:00:00+01:00,39.0,3.0\n",
            },
        },
    }
}


@router.post(
    "/meters/{meter}/readings",
    response_model=ReadingsReport,
    openapi_extra=_BODY,
    responses=responses(400, 404, 413, 415, 422, 503),
)
async def push_readings(
    meter: MeterName,
    request: Request,
    repo: MetersDep,
    caller: WriterDep,
    on_conflict: Annotated[
        Literal["keep", "replace", "skip"],
        Query(
            description="readings stored with another value: keep them, replace them, or "
            "skip the whole batch"
        ),
    ] = "keep",
    strict: Annotated[
        bool, Query(description="store nothing when any reading is rejected (422 instead)")
    ] = False,
) -> dict:
    """Push readings. Idempotent: re-sending a batch changes nothing. Each reading is counted as
    inserted, unchanged, conflicting or rejected (with its row and the reason)."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    return await run_in_threadpool(
        _push, repo, meter, caller.owner, body, content_type, on_conflict, strict
    )


def _push(
    repo: SqlMeterRepository,
    name: str,
    owner: str | None,
    body: bytes,
    content_type: str,
    policy: str,
    strict: bool,
) -> dict:
    try:
        meter = meter_head(repo, name, owner)
        batch = parse_batch(body, content_type, meter)
    except UnsupportedMedia as err:
        raise ApiError(415, str(err)) from None
    except Unreadable as err:
        raise ApiError(400, str(err)) from None
    if batch.rejected and (strict or len(batch.frame) == 0):
        first = batch.rejected[0]
        what = "none of" if len(batch.frame) == 0 else "strict: nothing stored;"
        raise ApiError(
            422,
            f"{what} {len(batch.rejected)} of {batch.received} readings rejected; first: "
            f"row {first.row} {first.field or ''}: {first.reason}".replace("  ", " "),
            errors=[
                FieldError(row=r.row, field=r.field, message=r.reason)
                for r in batch.rejected[:LISTED]
            ],
        )
    result = repo.import_frame(name, batch.frame, on_conflict=policy, owner=owner)
    return _report(name, batch, result)


def _report(name: str, batch: Batch, result) -> dict:
    out = result.to_dict()
    message = out["message"]
    if batch.rejected:
        message = message.rstrip(".") + f"; {len(batch.rejected)} rejected."
    return {
        "meter": name,
        "format": batch.format,
        "policy": out["policy"],
        "received": batch.received,
        "inserted": 0 if result.skipped else out["inserted"],
        "unchanged": out["unchanged"],
        "conflicting": out["conflicting"],
        "rejected": len(batch.rejected),
        "replaced": out["replaced"],
        "skipped": out["skipped"],
        "conflicts": out["conflicts"],
        "rejected_rows": [
            {"row": r.row, "field": r.field, "reason": r.reason} for r in batch.rejected[:LISTED]
        ],
        "message": message,
    }


@router.get(
    "/meters/{meter}/readings", response_model=ReadingsPage, responses=responses(404, 422, 503)
)
def get_readings(
    meter: MeterName,
    repo: MetersDep,
    caller: CallerDep,
    start: Annotated[Time | None, Query(description="first time (inclusive)")] = None,
    end: Annotated[Time | None, Query(description="last time (exclusive)")] = None,
    step: Annotated[
        str | None, Query(max_length=20, description="resample to this step, e.g. 1h, 1D")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=limits.MAX_PAGE)] = 10_000,
) -> dict:
    """Stored readings in ``[start, end)``, in time order, optionally resampled (energy summed,
    power averaged); a full page names the ``next`` start."""
    found = meter_head(repo, meter, caller.owner)
    frame = repo.load(meter, owner=caller.owner, start=start, end=end)
    resampled = None
    shown = None if found.step is None else step_label(found.step)
    if step is not None:
        target = parse_freq(step)
        frame, how = resample(frame, target, found)
        resampled = {"step": step_label(target), "how": how}
        shown = step_label(target)
    page, rest = frame.iloc[:limit], frame.iloc[limit:]
    return {
        "meter": found.name,
        "unit": found.unit,
        "timezone": found.timezone,
        "step": shown,
        "resampled": resampled,
        "count": len(page),
        "next": iso(rest.index[0]) if len(rest) else None,
        "readings": readings_out(page),
    }
