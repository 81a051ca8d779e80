"""What routes are handed (FastAPI dependencies): the store, the repositories, the caller.

One :class:`~core.store.db.Store` (one SQLAlchemy engine and its pool) per process: opened when the
app starts (``app.lifespan``), closed when it stops, the same database as the app and the CLI
(``WATTSUP_DATABASE_URL``, else ``WATTSUP_HOME/wattsup.db``).

``current_caller`` is the one place authentication happens: every ``/v1`` router depends on it,
and routes that read or own data pass its ``Caller.owner`` to the repositories. An API key comes
as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY`` (``python -m core apikey create``):

=====================================  ===========================================================
request                                answer
=====================================  ===========================================================
no key, and the database has no users  the workspace (owner NULL, every scope): a single-person
                                       install works as before
no key, once any user exists           401 (``WWW-Authenticate: Bearer``)
an unknown or revoked key, a removed   401, from the very next request: the key, its user and
user, a user no longer in the key's    their membership are read on every request, never cached
organisation
a valid key                            ``Caller(owner=the org's owner, name=the user, scopes=the
                                       key's scope, at most the user's role now)``
a read key on a route that writes      403 (``require_write`` / ``WriterDep``)
a route for admins (alert channels)    403 unless an admin's write key (``require_admin`` /
                                       ``AdminDep``)
=====================================  ===========================================================

Another organisation's meter is answered exactly like a missing one (404 with the same text):
the repositories filter by owner and never say a meter exists elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from core.api.problems import ApiError
from core.auth.apikeys import authorise
from core.auth.roles import EVERY_SCOPE
from core.store.db import Store
from core.store.meters import SqlMeterRepository
from core.store.runs import SqlRunRepository
from core.store.users import SqlUserRepository


@dataclass(frozen=True)
class Caller:
    """Who is calling: whose meters they see (``owner``), their name for labels, their scopes."""

    owner: str | None = None
    name: str | None = None
    scopes: frozenset[str] = frozenset({"read", "write"})


KEY_HELP = (
    "A WattsUp API key (`python -m core apikey create`). Needed once the database has users; "
    "until then no key is asked for (the workspace may do everything)."
)
# the two ways to send a key; as dependencies of current_caller they are the OpenAPI schema's
# securitySchemes, and every /v1 operation lists them (either one) as its security
BEARER = HTTPBearer(
    scheme_name="bearer", bearerFormat="wu_...", description=KEY_HELP, auto_error=False
)
API_KEY = APIKeyHeader(
    name="X-API-Key", scheme_name="apiKey", description=KEY_HELP, auto_error=False
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
ApiKeyDep = Annotated[str | None, Depends(API_KEY)]


def request_key(bearer: HTTPAuthorizationCredentials | None, api_key: str | None) -> str | None:
    """The API key of a request: ``Authorization: Bearer KEY``, else ``X-API-Key``."""
    if bearer is not None and bearer.credentials.strip():
        return bearer.credentials.strip()
    return (api_key or "").strip() or None


def _unauthorised(detail: str) -> ApiError:
    return ApiError(401, detail, headers={"WWW-Authenticate": 'Bearer realm="wattsup"'})


def current_caller(request: Request, bearer: BearerDep, api_key: ApiKeyDep) -> Caller:
    """The caller of this request (see the module docstring); 401 without a valid key once users
    exist."""
    repo = SqlUserRepository(request.app.state.store)
    key = request_key(bearer, api_key)
    if key is None:
        if not repo.any_users():  # the workspace may do everything, as before users
            return Caller(scopes=EVERY_SCOPE)
        raise _unauthorised(
            "this WattsUp has users: send an API key as 'Authorization: Bearer KEY' (make one "
            "with `python -m core apikey create`)."
        )
    access = authorise(repo, key)
    if access is None:
        raise _unauthorised(
            "this API key is not valid (unknown, revoked, or its user was removed): ask an admin "
            "for a new one (`python -m core apikey create`)."
        )
    return Caller(owner=access.owner, name=access.user, scopes=access.scopes)


def require_write(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """The caller, when it may write (``write`` scope); else 403. Put on every route that changes data."""
    if "write" not in caller.scopes:
        raise HTTPException(
            status_code=403, detail="this key may only read: use a key with the write scope"
        )
    return caller


def require_admin(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """The caller, when it is an admin's write key (``admin`` scope); else 403. For routes that
    manage what only admins may (alert channels, other people's keys)."""
    if "admin" not in caller.scopes:
        raise HTTPException(
            status_code=403, detail="this route needs an admin's key with the write scope"
        )
    return caller


def get_store(request: Request) -> Store:
    """The process's store, opened by the app's lifespan."""
    return request.app.state.store


def meter_repository(store: Annotated[Store, Depends(get_store)]) -> SqlMeterRepository:
    return SqlMeterRepository(store)


def run_repository(store: Annotated[Store, Depends(get_store)]) -> SqlRunRepository:
    return SqlRunRepository(store)


CallerDep = Annotated[Caller, Depends(current_caller)]
WriterDep = Annotated[Caller, Depends(require_write)]
AdminDep = Annotated[Caller, Depends(require_admin)]
StoreDep = Annotated[Store, Depends(get_store)]
MetersDep = Annotated[SqlMeterRepository, Depends(meter_repository)]
RunsDep = Annotated[SqlRunRepository, Depends(run_repository)]

# path parameters: the meter's name is its id; ids are the database's 32-bit integers
MeterName = Annotated[
    str, Path(min_length=1, max_length=200, description="the meter's name", examples=["hall-7"])
]
Id = Annotated[int, Path(ge=1, le=2**31 - 1, examples=[1])]
