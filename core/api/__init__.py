"""API wing: the REST / JSON API (FastAPI on uvicorn), thin like the pages: parse the request ->
call ``core`` -> answer with a documented schema. ``python -m core serve`` starts it.

* ``app``: ``create_app()``, the factory uvicorn loads (``core.api.app:create_app``): routers,
  error handlers, the body limit, OpenAPI at ``/docs`` and ``/openapi.json``.
* ``deps``: what routes are handed (FastAPI dependencies): the one store of the process, the
  repositories, and ``current_caller`` (the one place API keys / users will plug in).
* ``problems``: every error as one RFC 9457 ``application/problem+json`` body, never a traceback.
* ``limits``: body size, JSON depth, batch lengths and detections at once, each with its reason.
* ``guard``: the ASGI middleware that holds every body to the size and depth limits.
* ``batch``: a readings body (JSON list, NDJSON, CSV) -> the frame to store plus the rejected rows;
  ``times``: each reading's time on its meter's clock, or why it has none.
* ``stored``: detection, forecasts and resampling on a stored meter (load -> grid ->
  ``run_detection`` -> record).
* ``present``: what the store and the detection run return -> response bodies.
* ``stateless``: Azure Anomaly Detector compatible ``/v1/detect/entire`` and ``/v1/detect/last``.
* ``schemas/``: the pydantic request and response bodies, each documented field by field.
* ``routes/``: one router per resource: health, meters, readings, detection, events (runs,
  events, labels), forecast, stateless.

May import every wing except ``core.ui`` and ``core.commands``. The only wing that imports fastapi,
starlette, pydantic or uvicorn (import-linter contract in ``pyproject.toml``).
"""
