"""Every error as one RFC 9457 problem: ``application/problem+json``, never a traceback.

=============  =====================================================================================
key            what it holds
=============  =====================================================================================
``type``       ``about:blank`` (the status says what kind of problem it is)
``title``      the status in words (``Unprocessable Content``)
``status``     the HTTP status, repeated
``detail``     one line: what is wrong, where (the field, the row), and what to do
``errors``     ``[{field, message, row}]`` per field or row at fault (may be empty); ``field`` is a
               path into the request (``series[3].value``, ``query.start``), ``row`` the reading's
               position in a readings body, from 1
=============  =====================================================================================

Statuses: 400 (a body that is not JSON / CSV, or nested too deeply), 404 (no such meter, run,
event or route), 405, 409 (a meter that exists already), 413 (body too large), 415 (a content type
the route does not read), 422 (well-formed input that cannot be used: a
:class:`~core.errors.DataError` or a validation error), 503 (the database failed:
:class:`~core.store.db.DatabaseError`), 500 only for a bug, logged with its traceback on the server
and answered in one line.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import DataError
from core.store.db import DatabaseError, NotFoundError

PROBLEM = "application/problem+json"


class FieldError(BaseModel):
    """One field or row at fault."""

    field: str | None = Field(None, description="path into the request, e.g. series[3].value")
    message: str = Field(description="what is wrong with it and what to send instead")
    row: int | None = Field(None, description="position of the reading in the body, from 1")


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "about:blank",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "no meter named 'hall-7' in the SQLite database /srv/wattsup.db; "
                    "create it with POST /v1/meters first.",
                    "errors": [],
                }
            ]
        }
    )

    type: str = "about:blank"
    title: str = Field(description="the status in words")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="one line: what is wrong, where, and what to do")
    errors: list[FieldError] = Field(default_factory=list, description="fields or rows at fault")


class ApiError(Exception):
    """Raised by routes: answered as a problem with this status."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors or [], headers


def problem(
    status: int,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The problem response for ``status``."""
    body = Problem(title=title(status), status=status, detail=detail, errors=errors or [])
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status, headers=headers, media_type=PROBLEM
    )


def problem_bytes(status: int, detail: str) -> bytes:
    """The JSON text of a problem, for the ASGI body guard (which answers before any route)."""
    body = Problem(title=title(status), status=status, detail=detail)
    return body.model_dump_json().encode()


def title(status: int) -> str:
    """The status in words (``Unprocessable Content``)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses (``app`` moves them to problem+json)."""
    return {s: {"model": Problem, "description": title(s)} for s in statuses}


# ---- handlers ---------------------------------------------------------------------------------
def field_path(loc: tuple | list) -> str:
    """``("body", "series", 3, "value")`` -> ``series[3].value``; ``("query", "start")`` -> ``query.start``."""
    parts = list(loc[1:] if loc and loc[0] == "body" else loc)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def validation_errors(errors: list[dict[str, Any]]) -> list[FieldError]:
    """pydantic's error list as fields and readable messages."""
    out = []
    for err in errors:
        if err.get("type") == "json_invalid":
            why = (err.get("ctx") or {}).get("error", "not JSON")
            at = err["loc"][1] if len(err.get("loc", ())) > 1 else 0
            message = f"the body is not valid JSON ({why} at character {at}): send a JSON object."
            out.append(FieldError(field="body", message=message))
            continue
        message = str(err.get("msg", "is not valid"))
        if err.get("type") == "value_error":  # our validators' sentences, without pydantic's prefix
            message = message.removeprefix("Value error, ")
        if err.get("type") == "missing":
            message = "is required"
        elif err.get("type") == "extra_forbidden":
            message = "is not a field of this request: check its spelling"
        elif "input" in err and not isinstance(err["input"], dict | list):
            message += f" (got {str(err['input'])[:60]!r})"
        out.append(FieldError(field=field_path(err.get("loc", ())), message=message))
    return out


def summary(errors: list[FieldError], limit: int = 5) -> str:
    """One line naming the first few fields at fault."""
    parts = [f"{e.field}: {e.message}" if e.field else e.message for e in errors[:limit]]
    more = f" (and {len(errors) - limit} more)" if len(errors) > limit else ""
    return "; ".join(parts) + more


def install(app: FastAPI) -> None:
    """Answer every exception as a problem."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, err: ApiError) -> JSONResponse:
        return problem(err.status, err.detail, err.errors, err.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        errors = validation_errors(list(err.errors()))
        status = 400 if any(e.field == "body" and "JSON" in e.message for e in errors) else 422
        return problem(status, summary(errors), errors)

    @app.exception_handler(NotFoundError)
    async def _missing(_: Request, err: NotFoundError) -> JSONResponse:
        return problem(404, str(err))

    @app.exception_handler(DatabaseError)
    async def _database(_: Request, err: DatabaseError) -> JSONResponse:
        return problem(503, str(err), headers={"Retry-After": "5"})

    @app.exception_handler(DataError)
    async def _data(_: Request, err: DataError) -> JSONResponse:
        return problem(422, str(err))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        detail = err.detail if isinstance(err.detail, str) else title(err.status_code)
        if err.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.url.path}: the routes are listed at /docs."
        elif err.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}: see /docs."
        return problem(err.status_code, detail, headers=getattr(err, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(request: Request, err: Exception) -> JSONResponse:
        # Starlette re-raises after this answer, so uvicorn logs the traceback on the server
        return problem(
            500,
            f"WattsUp failed on this request ({type(err).__name__}); the server log has the "
            "details: please report it.",
        )
