"""What routes are handed (FastAPI dependencies): the store, the repositories, the caller.

One :class:`~core.store.db.Store` (one SQLAlchemy engine and its pool) per process: opened when the
app starts (``app.lifespan``), closed when it stops, the same database as the app and the CLI
(``WATTSUP_DATABASE_URL``, else ``WATTSUP_HOME/wattsup.db``).

``current_caller`` is the one place authentication plugs in: every ``/v1`` router depends on it,
and routes that write or own data take its ``Caller``. Today it answers the workspace (owner
``None``, every scope); the API-keys issue replaces its body (``Authorization: Bearer ...`` -> a
key's owner and scopes, 401 / 403) without touching a route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request

from core.store.db import Store
from core.store.meters import SqlMeterRepository
from core.store.runs import SqlRunRepository


@dataclass(frozen=True)
class Caller:
    """Who is calling: whose meters they see (``owner``), their name for labels, their scopes."""

    owner: str | None = None
    name: str | None = None
    scopes: frozenset[str] = frozenset({"read", "write"})


def current_caller() -> Caller:
    """The caller of this request (the workspace until API keys arrive)."""
    return Caller()


def require_write(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """The caller, when it may write (``write`` scope); else 403. Put on every route that changes data."""
    if "write" not in caller.scopes:
        raise HTTPException(status_code=403, detail="this key may only read: use a key with the write scope")
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
StoreDep = Annotated[Store, Depends(get_store)]
MetersDep = Annotated[SqlMeterRepository, Depends(meter_repository)]
RunsDep = Annotated[SqlRunRepository, Depends(run_repository)]

# path parameters: the meter's name is its id; ids are the database's 32-bit integers
MeterName = Annotated[
    str, Path(min_length=1, max_length=200, description="the meter's name", examples=["hall-7"])
]
Id = Annotated[int, Path(ge=1, le=2**31 - 1, examples=[1])]
