"""API fixtures: a real uvicorn server per database (SQLite file; PostgreSQL from the store's
fixture), shared by the session, and small helpers to push a frame and create meters."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pandas as pd
import pytest

from tests.api.server import ApiServer, api_server
from tests.conftest import inject_anomalies, synthetic_frame
from tests.store.conftest import pg_server  # noqa: F401  (the session's PostgreSQL server)
from tests.store.pg_server import LocalPostgres

DIALECTS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """The server on a SQLite file of its own."""
    root = tmp_path_factory.mktemp("api-sqlite")
    with api_server(f"sqlite:///{root / 'wattsup.db'}", root, "sqlite") as server:
        yield server


@pytest.fixture(scope="session")
def postgresql_api(
    pg_server: LocalPostgres,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ApiServer]:
    """The server on a database of its own on the session's PostgreSQL server."""
    name = f"api_{uuid.uuid4().hex[:10]}"
    url = pg_server.create_database(name)
    try:
        with api_server(url, tmp_path_factory.mktemp("api-pg"), "postgresql") as server:
            yield server
    finally:
        pg_server.drop_database(name)


@pytest.fixture(params=DIALECTS)
def any_api(request: pytest.FixtureRequest) -> ApiServer:
    """The server on SQLite, then on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_api")


@pytest.fixture
def client(sqlite_api: ApiServer) -> Iterator[httpx.Client]:
    with sqlite_api.client() as c:
        yield c


def new_name(prefix: str = "m") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_meter(client: httpx.Client, name: str | None = None, **fields) -> str:
    """Create a meter through the API (hourly kWh, naive times unless told); returns its name."""
    name = name or new_name()
    body = {"name": name, "unit": "kWh", "step": "1h", **fields}
    response = client.post("/v1/meters", json=body)
    assert response.status_code == 201, response.text
    return name


def records(frame: pd.DataFrame) -> list[dict]:
    """A canonical frame as the JSON readings a device would push (NaN as null: missing)."""
    out = []
    for when, row in zip(frame.index, frame.to_dict("records"), strict=True):
        out.append(
            {
                "timestamp": when.isoformat(),
                **{k: None if pd.isna(v) else v for k, v in row.items()},
            }
        )
    return out


def push(client: httpx.Client, name: str, frame: pd.DataFrame, batch: int = 500) -> list[dict]:
    """Push ``frame`` as JSON in batches; returns each batch's report."""
    rows = records(frame)
    reports = []
    for i in range(0, len(rows), batch):
        response = client.post(f"/v1/meters/{name}/readings", json=rows[i : i + batch])
        assert response.status_code == 200, response.text
        reports.append(response.json())
    return reports


def hourly(n_days: int) -> pd.DataFrame:
    """Hourly readings (naive times) with a temperature, rounded so JSON carries them exactly."""
    frame = synthetic_frame(n_days)
    frame.index = frame.index.as_unit("ns")
    return frame.round(6)


def anomalous(n_days: int = 42) -> pd.DataFrame:
    """Hourly readings with a temperature and a spike, a drop to zero, a flat run, a level shift."""
    frame, _ = inject_anomalies(synthetic_frame(n_days))
    frame.index = frame.index.as_unit("ns")
    return frame.round(6)
