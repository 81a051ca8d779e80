"""Alert fixtures: a fresh store per test (SQLite file), a meter with readings, a real SMTP server and
a real webhook receiver on loopback, the secret key and a short retry backoff."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from cryptography.fernet import Fernet

from core.store.db import Store, open_store
from core.store.meters import SqlMeterRepository
from core.store.records import Meter
from tests.alerts.servers import SmtpServer, WebhookServer
from tests.conftest import synthetic_frame

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday noon


@pytest.fixture(autouse=True)
def _alert_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WATTSUP_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("WATTSUP_ALERT_BACKOFF_S", "0.01")
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WATTSUP_APP_URL", "https://wattsup.example.org")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'wattsup.db'}", home=tmp_path / "home")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def meter(store: Store) -> Meter:
    """hall-7: two weeks of hourly kWh readings, site Campus North, type office."""
    repo = SqlMeterRepository(store)
    repo.import_frame(
        "hall-7", synthetic_frame(14), unit="kWh", site="Campus North", building_type="office"
    )
    return repo.get("hall-7")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    server = WebhookServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def events(*rows: dict, unit: str = "kWh") -> pd.DataFrame:
    """An events frame as ``find_events`` returns it (only the columns alerts read)."""
    cols = ["start", "end", "duration_h", "peak_score", "excess", "type", "cause"]
    frame = pd.DataFrame(list(rows), columns=cols)
    for c in ("start", "end"):
        frame[c] = pd.to_datetime(frame[c])
    frame.attrs["energy_unit"] = unit
    return frame


def spike(start: str = "2023-01-15 20:00", end: str | None = None, **kw) -> dict:
    row = {
        "start": start,
        "end": end or start,
        "duration_h": 1.0,
        "peak_score": 6.5,
        "excess": 140.0,
        "type": "spike",
        "cause": "Reading 4.1x the usual Sunday evening level.",
    }
    row.update(kw)
    return row
