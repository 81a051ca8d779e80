"""``create_app()``: the WattsUp API as a FastAPI app (uvicorn loads ``core.api.app:create_app``).

Routes: ``GET /healthz`` at the root; everything else under ``/v1``, behind ``deps.current_caller``
(where API keys will be checked). OpenAPI at ``/openapi.json``, Swagger UI at ``/docs``. Every
error is an ``application/problem+json`` body (``problems``), every body is held to the limits
(``guard``), and the process keeps one store (``deps``) from start to stop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from core.api import problems
from core.api.deps import current_caller
from core.api.guard import BodyGuard
from core.api.routes import ROUTERS, health
from core.store.db import Store, open_store

TITLE = "WattsUp API"
EVERY_ROUTE = (400, 413, 422)  # a body nested too deep or too large, a parameter out of range
VERSION = "1.0.0"
DESCRIPTION = """Push meter readings (JSON, NDJSON or CSV), read them back, detect anomalous
energy use on stored meters or on a series in the request (Azure Anomaly Detector compatible),
read and label the events, and forecast. Meters are the same as in the WattsUp app and CLI.
Errors are RFC 9457 problem details: `detail` says what is wrong, where, and what to do."""


def create_app(store: Store | None = None) -> FastAPI:
    """The app. With ``store`` it uses that one (and leaves it open); else it opens the
    environment's database (``WATTSUP_DATABASE_URL`` / ``WATTSUP_HOME``) when it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = store if store is not None else open_store()
        try:
            yield
        finally:
            if store is None:
                app.state.store.close()

    app = FastAPI(title=TITLE, version=VERSION, description=DESCRIPTION, lifespan=lifespan)
    problems.install(app)
    app.add_middleware(BodyGuard)
    app.include_router(health.router)
    for router in ROUTERS:
        app.include_router(router, prefix="/v1", dependencies=[Depends(current_caller)])
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with every error response as ``application/problem+json``."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        ref = {"$ref": "#/components/schemas/Problem"}
        for path in schema["paths"].values():
            for operation in path.values():
                answers = operation.setdefault("responses", {})
                for status in EVERY_ROUTE:  # the body guard and the validation stand before all
                    answers.setdefault(str(status), {"description": problems.title(status)})
                for status, response in answers.items():
                    if status[0] in "45":  # FastAPI's own 422 body is answered as a problem too
                        response["content"] = {problems.PROBLEM: {"schema": ref}}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        components.setdefault(
            "Problem",
            problems.Problem.model_json_schema(ref_template="#/components/schemas/{model}"),
        )
        app.openapi_schema = schema
    return app.openapi_schema
