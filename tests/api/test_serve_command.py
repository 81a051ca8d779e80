"""``python -m core serve``: its options, and a database problem as one line and exit 2 before
anything listens; an unreachable database at run time is a 503 problem, not a 500."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

from core.__main__ import build_parser
from core.store.db import Store, make_engine
from tests.conftest import REPO
from tests.store.pg_server import free_port


def test_serve_parses_host_port_and_refuses_a_bad_port() -> None:
    """--host and --port reach the command; a port out of range is a usage error."""
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9001"])
    assert (args.host, args.port, args.workers) == ("0.0.0.0", 9001, 1)
    proc = subprocess.run(
        [sys.executable, "-m", "core", "serve", "--port", "70000"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "not a port number" in proc.stderr


def test_serve_with_an_unreachable_database_exits_2_in_one_line(tmp_path: Path) -> None:
    """A database URL where nothing listens is one error line and exit 2; no server starts."""
    env = {
        "PATH": "/usr/bin:/bin",
        "WATTSUP_DATABASE_URL": f"postgresql+psycopg://wattsup@127.0.0.1:{free_port()}/x",
        "WATTSUP_HOME": str(tmp_path),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "core", "serve", "--port", str(free_port())],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: cannot reach the PostgreSQL database x")
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_a_database_that_goes_away_is_a_503_problem(tmp_path: Path) -> None:
    """When the database stops answering, routes answer 503 with the store's one line and a Retry-After."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's TestClient deprecation note
        from fastapi.testclient import TestClient

    from core.api.app import create_app

    url = f"postgresql+psycopg://wattsup@127.0.0.1:{free_port()}/gone"
    store = Store(make_engine(url, 1.0), tmp_path, 1.0)  # opened without the schema check
    with TestClient(create_app(store), raise_server_exceptions=False) as client:
        health = client.get("/healthz")
        meters = client.get("/v1/meters")
    for response in (health, meters):
        assert response.status_code == 503, response.text
        assert "cannot reach the PostgreSQL database gone" in response.json()["detail"]
        assert response.headers["retry-after"] == "5"
