"""``GET /healthz``: the process answers and its database is reachable at the schema it expects."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from core.api.deps import StoreDep
from core.api.problems import responses
from core.store.db import schema_revisions

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The server is up and its database answers."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "ok", "database": "sqlite", "schema_revision": "0001"}]
        }
    )

    status: str
    database: str
    schema_revision: str | None = None


@router.get("/healthz", response_model=Health, responses=responses(503))
def healthz(store: StoreDep) -> dict:
    """Health check: 200 when the database answers, 503 (with the reason) when it does not."""
    current, _ = schema_revisions(store)
    return {"status": "ok", "database": store.dialect, "schema_revision": current}
