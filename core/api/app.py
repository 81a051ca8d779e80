"""``create_app()``: the WattsUp API as a FastAPI app (uvicorn loads ``core.api.app:create_app``).

Routes: ``GET /healthz`` at the root; everything else under ``/v1``, behind ``deps.current_caller``
(where API keys are checked). OpenAPI at ``/openapi.json``, Swagger UI at ``/docs``: the key's two
headers are its ``securitySchemes`` (``bearer``, ``apiKey``), every ``/v1`` operation documents 401
and the ones that need the write or admin scope 403. Every error is an ``application/problem+json``
body (``problems``), every body is held to the limits (``guard``), and the process keeps one store
(``deps``) from start to stop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, routing
from fastapi.openapi.utils import get_openapi

from core.api import problems
from core.api.deps import current_caller, require_admin, require_write
from core.api.guard import BodyGuard
from core.api.routes import ROUTERS, health
from core.store.db import Store, open_store

TITLE = "WattsUp API"
EVERY_ROUTE = (400, 413, 422)  # a body nested too deep or too large, a parameter out of range
VERSION = "1.0.0"
DESCRIPTION = """Push meter readings (JSON, NDJSON or CSV), read them back, detect anomalous
energy use on stored meters or on a series in the request (Azure Anomaly Detector compatible),
read and label the events, and forecast. Meters are the same as in the WattsUp app and CLI.
Errors are RFC 9457 problem details: `detail` says what is wrong, where, and what to do.
Once the database has users, every `/v1` route wants an API key (`Authorization: Bearer KEY` or
`X-API-Key: KEY`, from `python -m core apikey create`): 401 without a valid one, 403 for a read key
on a route that changes data; another organisation's meter is a 404, like a missing one."""


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


AUTH_ANSWERS = {
    401: {
        "description": "no API key, or one that is unknown, revoked or of a removed user (asked "
        "for once the database has users)",
        "headers": {
            "WWW-Authenticate": {
                "description": 'Bearer realm="wattsup"',
                "schema": {"type": "string"},
            }
        },
    },
    403: {"description": "the key lacks the scope: a read key on a route that changes data"},
}
ADMIN_403 = "the route needs an admin's key with the write scope"


def _scopes_needed(app: FastAPI) -> dict[tuple[str, str], str]:
    """(method, path) -> ``write`` or ``admin`` for the operations behind ``require_write`` /
    ``require_admin`` (found in each route's dependency tree, so a new write route is included)."""
    needed = {}
    # FastAPI >= 0.16x keeps included routers nested: iter_route_contexts flattens them
    flatten = getattr(routing, "iter_route_contexts", iter)
    for route in flatten(app.routes):
        if getattr(route, "dependant", None) is None or not route.methods:
            continue
        calls, todo = set(), [route.dependant]
        while todo:
            dependant = todo.pop()
            calls.add(dependant.call)
            todo.extend(dependant.dependencies)
        scope = "admin" if require_admin in calls else "write" if require_write in calls else None
        for method in route.methods if scope else ():
            needed[(method.lower(), route.path_format)] = scope
    return needed


def _auth_answers(app: FastAPI, schema: dict[str, Any]) -> None:
    """401 on every operation with a security requirement, 403 on those that need a scope."""
    needed = _scopes_needed(app)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if not operation.get("security"):
                continue
            answers = operation.setdefault("responses", {})
            answers.setdefault("401", dict(AUTH_ANSWERS[401]))
            scope = needed.get((method, path))
            if scope:
                forbidden = dict(AUTH_ANSWERS[403])
                if scope == "admin":
                    forbidden["description"] = ADMIN_403
                answers.setdefault("403", forbidden)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with the key's 401 / 403 answers, and every error response as
    ``application/problem+json``."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        _auth_answers(app, schema)
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
