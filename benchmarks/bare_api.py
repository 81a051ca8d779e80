"""The floor under ``benchmarks.api``'s ``/v1/detect/last``: a bare FastAPI app on uvicorn whose
``POST /v1/detect/last`` only parses the body into the same request model (``SeriesRequest``) and
answers one small fixed object. The same request against it and against ``python -m core serve``
shows what WattsUp itself adds to a call.

    python -m uvicorn benchmarks.bare_api:app --host 127.0.0.1 --port 8001
"""

from __future__ import annotations

from fastapi import FastAPI

from core.api.schemas.stateless import SeriesRequest

app = FastAPI(title="bare body parser")


@app.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@app.post("/v1/detect/last")
def last(body: SeriesRequest) -> dict:  # a sync route, run in the thread pool as WattsUp's is
    return {"isAnomaly": False, "points": len(body.series)}
