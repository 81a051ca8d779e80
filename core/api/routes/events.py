"""Runs, events and labels: ``/v1/meters/{meter}/runs``, ``/events``, ``/labels`` and
``POST /v1/events/{event_id}/label``.

A label's author is the caller: with an API key, the key's user (``Caller.name``); a body
``author`` naming anyone else is refused with 422 (one may not label in another person's name).
Only the workspace of an install without users (no key) takes the body's ``author`` as given.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from core.api.deps import Caller, CallerDep, Id, MeterName, RunsDep, WriterDep
from core.api.present import event_label_out, events_out, labels_out, run_out
from core.api.problems import ApiError, FieldError, responses
from core.api.schemas.common import iso
from core.api.schemas.detection import EventsOut, RunsOut
from core.api.schemas.labels import LabelIn, LabelOut, LabelsOut, SpanLabelIn

router = APIRouter(tags=["events and labels"])


def label_author(author: str | None, caller: Caller) -> str | None:
    """Who a label is by: the signed caller (a body ``author`` of another name: 422), else the
    body's ``author`` (the workspace of an install without users)."""
    if caller.name is None:
        return author
    if author is not None and author.strip() != caller.name:
        message = (
            f"is {author[:60]!r}, but this API key is {caller.name!r}'s: a label's author is the "
            "key's user; leave 'author' out"
        )
        raise ApiError(
            422, f"author: {message}.", errors=[FieldError(field="author", message=message)]
        )
    return caller.name


@router.get("/meters/{meter}/runs", response_model=RunsOut, responses=responses(404, 422, 503))
def list_runs(
    meter: MeterName,
    runs: RunsDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 20,
) -> dict:
    """The meter's detection runs, newest first."""
    found = runs.runs(meter, owner=caller.owner, limit=limit)
    return {"meter": meter, "runs": [run_out(r) for r in found]}


@router.get(
    "/meters/{meter}/runs/{run_id}", response_model=EventsOut, responses=responses(404, 422, 503)
)
def get_run(meter: MeterName, run_id: Id, runs: RunsDep, caller: CallerDep) -> dict:
    """One run with its events."""
    run = runs.run(meter, run_id, owner=caller.owner)
    return {"run": run_out(run), "events": events_out(runs.events(run, ids=True), run.id)}


@router.get("/meters/{meter}/events", response_model=EventsOut, responses=responses(404, 422, 503))
def list_events(
    meter: MeterName,
    runs: RunsDep,
    caller: CallerDep,
    run: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="a run's id (default: the newest run)")
    ] = None,
) -> dict:
    """The events of the meter's newest detection run (or of ``run``)."""
    found = (
        runs.run(meter, run, owner=caller.owner)
        if run is not None
        else runs.last(meter, owner=caller.owner)
    )
    if found is None:
        raise ApiError(
            404,
            f"meter {meter!r} has no detection run yet: POST /v1/meters/{meter}/detect first.",
        )
    return {"run": run_out(found), "events": events_out(runs.events(found, ids=True), found.id)}


@router.post(
    "/events/{event_id}/label",
    status_code=201,
    response_model=LabelOut,
    responses=responses(404, 422, 503),
)
def label_event(event_id: Id, body: LabelIn, runs: RunsDep, caller: WriterDep) -> dict:
    """Say what an event was (real, not an anomaly, or expected), with a note. The author is the
    API key's user; a body `author` naming anyone else is refused (422). Without users (no key),
    the body's `author` is stored as given."""
    event = runs.event(event_id, owner=caller.owner)
    author = label_author(body.author, caller)
    label_id = runs.add_label(
        event.meter,
        event.start,
        event.end,
        body.verdict,
        note=body.note,
        author=author,
        owner=caller.owner,
        event_id=event.id,
    )
    return event_label_out(label_id, event, body.verdict, body.note, author)


@router.post(
    "/meters/{meter}/labels",
    status_code=201,
    response_model=LabelOut,
    responses=responses(404, 422, 503),
)
def label_span(meter: MeterName, body: SpanLabelIn, runs: RunsDep, caller: WriterDep) -> dict:
    """Say what a span of the meter's readings was (no event needed). The author is the API
    key's user; a body `author` naming anyone else is refused (422). Without users (no key), the
    body's `author` is stored as given."""
    author = label_author(body.author, caller)
    label_id = runs.add_label(
        meter, body.start, body.end, body.verdict, note=body.note, author=author, owner=caller.owner
    )
    return {
        "id": label_id,
        "meter": meter,
        "start": iso(body.start),
        "end": iso(body.end),
        "verdict": body.verdict,
        "note": body.note,
        "author": author,
        "event_id": None,
    }


@router.get("/meters/{meter}/labels", response_model=LabelsOut, responses=responses(404, 503))
def list_labels(meter: MeterName, runs: RunsDep, caller: CallerDep) -> dict:
    """The meter's labels, in time order."""
    return {"meter": meter, "labels": labels_out(runs.labels(meter, owner=caller.owner))}
