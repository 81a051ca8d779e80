"""The body guard: every request body is held to ``limits.MAX_BODY_MB`` and JSON bodies to
``limits.MAX_DEPTH`` before any route (or FastAPI's own JSON parsing) sees them.

A body that declares a larger ``Content-Length`` is refused before a byte is read; one sent in
chunks is counted as it arrives and refused as soon as it passes the limit. Nesting is measured on
the raw bytes (strings taken out first), so ``[[[[...]]]]`` never reaches ``json.loads``, which
would recurse once per level.
"""

from __future__ import annotations

import re

import numpy as np
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.api import limits
from core.api.problems import PROBLEM, problem_bytes

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_TYPES = ("application/json", "application/x-ndjson", "application/jsonl", "+json")


def json_depth(body: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` in a JSON (or NDJSON) text, strings ignored."""
    bare = np.frombuffer(_STRING.sub(b'""', body), dtype=np.uint8)
    step = np.isin(bare, (0x5B, 0x7B)).astype(np.int32) - np.isin(bare, (0x5D, 0x7D))
    return int(np.cumsum(step).max()) if step.size else 0


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return any(media == t or (t.startswith("+") and media.endswith(t)) for t in _JSON_TYPES)


class BodyGuard:
    """ASGI middleware: reads the whole body under the limits, then hands it to the app."""

    def __init__(
        self, app: ASGIApp, max_bytes: int | None = None, max_depth: int = limits.MAX_DEPTH
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes if max_bytes is not None else limits.MAX_BODY_MB * limits.MB
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        declared = headers.get(b"content-length", b"").strip()
        if declared and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send, 413, self._too_large(declared.decode("latin-1")))
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send, 413, self._too_large(f"more than {self.max_bytes}"))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if body and is_json(content_type) and (depth := json_depth(body)) > self.max_depth:
            await self._refuse(
                send,
                400,
                f"the JSON body is nested {depth} levels deep, over the {self.max_depth} this API "
                'reads: send a flat list of readings like [{"timestamp": "2024-01-01T00:00:00Z", '
                '"value": 1.5}].',
            )
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self, size: str) -> str:
        mb = self.max_bytes / limits.MB
        return (
            f"the request body is {size} bytes, over the {mb:g} MB limit "
            "(WATTSUP_API_MAX_BODY_MB): send the readings in smaller batches."
        )

    @staticmethod
    async def _refuse(send: Send, status: int, detail: str) -> None:
        body = problem_bytes(status, detail)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
