"""``/v1/meters``: create, list, get and delete meters (the same meters as the app and the CLI)."""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd
from fastapi import APIRouter, Response

from core.api.deps import CallerDep, MeterName, MetersDep, WriterDep
from core.api.present import meter_out
from core.api.problems import ApiError, responses
from core.api.schemas.meters import MeterCreate, MeterDeleted, MeterOut
from core.ingest.cleaning import parse_freq

router = APIRouter(tags=["meters"])


@router.get("/meters", response_model=list[MeterOut], responses=responses(503))
def list_meters(repo: MetersDep, caller: CallerDep) -> list[dict]:
    """Every meter, by name, with its reading count and span."""
    return [meter_out(m) for m in repo.list(owner=caller.owner)]


@router.post(
    "/meters", status_code=201, response_model=MeterOut, responses=responses(409, 422, 503)
)
def create_meter(body: MeterCreate, repo: MetersDep, caller: WriterDep, response: Response) -> dict:
    """Create a meter (no readings yet); 409 when one of that name exists."""
    step = parse_freq(body.step) if body.step else None
    index = pd.DatetimeIndex([], dtype="datetime64[ns]", name="timestamp")
    if body.timezone:
        index = index.tz_localize(body.timezone)
    columns = {"value": [], **{c: [] for c in body.covariates}}
    empty = pd.DataFrame(columns, index=index, dtype=float)
    result = repo.import_frame(
        body.name,
        empty,
        unit=body.unit,
        step=step,
        owner=caller.owner,
        site=body.site,
        building_type=body.building_type,
    )
    if not result.created:
        raise ApiError(
            409,
            f"a meter named {body.name!r} exists already: push readings to it, or choose "
            "another name.",
        )
    response.headers["Location"] = f"/v1/meters/{quote(body.name, safe='')}"
    return meter_out(repo.get(body.name, owner=caller.owner))


@router.get("/meters/{meter}", response_model=MeterOut, responses=responses(404, 503))
def get_meter(meter: MeterName, repo: MetersDep, caller: CallerDep) -> dict:
    """One meter with its reading count and span."""
    return meter_out(repo.get(meter, owner=caller.owner))


@router.delete("/meters/{meter}", response_model=MeterDeleted, responses=responses(404, 503))
def delete_meter(meter: MeterName, repo: MetersDep, caller: WriterDep) -> dict:
    """Delete a meter with its readings, uploads, runs, events and labels."""
    count = repo.delete(meter, owner=caller.owner)
    return {"name": meter, "readings_deleted": count}
