"""Alerts: ``/v1/channels`` (+ ``/test``), ``/v1/alert-rules``, ``/v1/silences``, ``/v1/notifications``.

Thin over ``core.alerts`` and ``core.store.alerts``: the same channels, rules and log as the CLI and
the Alerts page. A channel's URL goes in once and never comes back in full (masked). Adding,
removing and testing a channel takes an admin's key, as on the Alerts page; rules, silences and the
log take a write key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from core.alerts.channels import add_channel, send_test
from core.alerts.rules import new_rule, new_silence
from core.api.deps import AdminDep, CallerDep, Id, StoreDep, WriterDep
from core.api.problems import ApiError, responses
from core.api.schemas.alerts import (
    ChannelIn,
    ChannelOut,
    Deleted,
    NotificationOut,
    RuleIn,
    RuleOut,
    SilenceIn,
    SilenceOut,
)
from core.errors import DataError
from core.store.alerts import ExistsError, SqlAlertRepository
from core.store.schema import NOTIFICATION_KINDS, NOTIFICATION_STATUSES

router = APIRouter(tags=["alerts"])


def alert_repository(store: StoreDep) -> SqlAlertRepository:
    return SqlAlertRepository(store)


AlertsDep = Annotated[SqlAlertRepository, Depends(alert_repository)]
Name = Annotated[str, Path(min_length=1, max_length=200, description="its name")]


def _exists(err: ExistsError) -> ApiError:
    return ApiError(409, str(err))


# ---- channels ------------------------------------------------------------------------------------
@router.get("/channels", response_model=list[ChannelOut], responses=responses(422, 503))
def list_channels(repo: AlertsDep, caller: CallerDep) -> list[dict]:
    """The channels, URLs masked."""
    return [c.to_dict() for c in repo.channels(owner=caller.owner)]


@router.post(
    "/channels", status_code=201, response_model=ChannelOut, responses=responses(409, 422, 503)
)
def create_channel(body: ChannelIn, store: StoreDep, caller: AdminDep) -> dict:
    """Add a channel (an admin's key): the URL is checked by Apprise, sealed, and answered masked."""
    try:
        return add_channel(store, body.name, body.url, owner=caller.owner).to_dict()
    except ExistsError as err:
        raise _exists(err) from None


@router.delete("/channels/{name}", response_model=Deleted, responses=responses(404, 422, 503))
def delete_channel(name: Name, repo: AlertsDep, caller: AdminDep) -> dict:
    """Remove a channel (an admin's key; the log keeps its name)."""
    repo.delete_channel(name, owner=caller.owner)
    return {"deleted": name}


@router.post(
    "/channels/{name}/test", response_model=NotificationOut, responses=responses(404, 422, 503)
)
def test_channel(name: Name, store: StoreDep, caller: AdminDep) -> dict:
    """Send a test message now (an admin's key); the log row says ``sent`` or ``failed`` with the channel's error."""
    return send_test(store, name, owner=caller.owner).to_dict()


# ---- rules ---------------------------------------------------------------------------------------
def _rule(body: RuleIn, owner: str | None, repo: SqlAlertRepository):
    fields = body.model_dump()
    name = fields.pop("name")
    rule = new_rule(name, owner=owner, **fields)
    known = {c.name for c in repo.channels(owner=owner)}
    missing = [c for c in rule.channels if c not in known]
    if missing:
        raise DataError(
            f"no channel named {', '.join(map(repr, missing))}: POST /v1/channels first."
        )
    return rule


@router.get("/alert-rules", response_model=list[RuleOut], responses=responses(422, 503))
def list_rules(repo: AlertsDep, caller: CallerDep) -> list[dict]:
    """The alert rules by name."""
    return [r.to_dict() for r in repo.rules(owner=caller.owner)]


@router.post(
    "/alert-rules", status_code=201, response_model=RuleOut, responses=responses(409, 422, 503)
)
def create_rule(body: RuleIn, repo: AlertsDep, caller: WriterDep) -> dict:
    """Add a rule; 409 when one of that name exists (PUT replaces)."""
    try:
        return repo.save_rule(_rule(body, caller.owner, repo)).to_dict()
    except ExistsError as err:
        raise _exists(err) from None


@router.get("/alert-rules/{name}", response_model=RuleOut, responses=responses(404, 422, 503))
def get_rule(name: Name, repo: AlertsDep, caller: CallerDep) -> dict:
    """One rule."""
    return repo.rule(name, owner=caller.owner).to_dict()


@router.put("/alert-rules/{name}", response_model=RuleOut, responses=responses(404, 422, 503))
def put_rule(name: Name, body: RuleIn, repo: AlertsDep, caller: WriterDep) -> dict:
    """Create or replace the rule ``name`` (edit, enable, disable)."""
    if body.name != name:
        raise DataError(
            f"the body names the rule {body.name!r}, the path {name!r}: make them agree."
        )
    return repo.save_rule(_rule(body, caller.owner, repo), replace=True).to_dict()


@router.delete("/alert-rules/{name}", response_model=Deleted, responses=responses(404, 422, 503))
def delete_rule(name: Name, repo: AlertsDep, caller: WriterDep) -> dict:
    """Remove a rule (its log rows stay)."""
    repo.delete_rule(name, owner=caller.owner)
    return {"deleted": name}


# ---- silences ------------------------------------------------------------------------------------
@router.get("/silences", response_model=list[SilenceOut], responses=responses(422, 503))
def list_silences(
    repo: AlertsDep,
    caller: CallerDep,
    active: Annotated[bool, Query(description="only those muting now")] = False,
) -> list[dict]:
    """The silences, newest first."""
    at = datetime.now(UTC) if active else None
    return [s.to_dict() for s in repo.silences(owner=caller.owner, active_at=at)]


@router.post("/silences", status_code=201, response_model=SilenceOut, responses=responses(422, 503))
def create_silence(body: SilenceIn, repo: AlertsDep, caller: WriterDep) -> dict:
    """Mute matching alerts until ``until``; the log names this silence for what it suppressed."""
    silence = new_silence(
        body.meters,
        until=body.until,
        now=datetime.now(UTC),
        starts=body.starts,
        types=body.types,
        created_by=caller.name,
        comment=body.comment,
        owner=caller.owner,
    )
    return repo.add_silence(silence).to_dict()


@router.delete(
    "/silences/{silence_id}", response_model=SilenceOut, responses=responses(404, 422, 503)
)
def end_silence(silence_id: Id, repo: AlertsDep, caller: WriterDep) -> dict:
    """End a silence now (kept, so the log's references stay readable)."""
    return repo.end_silence(silence_id, datetime.now(UTC), owner=caller.owner).to_dict()


# ---- the log -------------------------------------------------------------------------------------
@router.get("/notifications", response_model=list[NotificationOut], responses=responses(422, 503))
def list_notifications(
    repo: AlertsDep,
    caller: CallerDep,
    meter: Annotated[str | None, Query(max_length=200)] = None,
    channel: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[Literal[NOTIFICATION_STATUSES] | None, Query()] = None,  # type: ignore[valid-type]
    kind: Annotated[Literal[NOTIFICATION_KINDS] | None, Query()] = None,  # type: ignore[valid-type]
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
) -> list[dict]:
    """The notification log, newest first: sent, suppressed (by which silence or rule), failed
    (with the channel's error), retried."""
    rows = repo.log(
        owner=caller.owner, meter=meter, channel=channel, status=status, kind=kind, limit=limit
    )
    return [n.to_dict() for n in rows]
