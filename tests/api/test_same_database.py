"""The API and the app share one database: what one writes, the other reads (SQLite and PostgreSQL)."""

from __future__ import annotations

import pandas as pd

from core.store.db import open_store
from core.store.meters import SqlMeterRepository
from tests.api.conftest import create_meter, hourly, new_name, push


def test_a_meter_pushed_through_the_api_loads_through_the_repository(any_api) -> None:
    """A meter created and filled over HTTP is the same meter, readings and all, for SqlMeterRepository."""
    frame = hourly(4)
    with any_api.client() as client:
        name = create_meter(
            client, timezone="Europe/Amsterdam", site="Depot", covariates=["temperature"]
        )
        local = frame.tz_localize("Europe/Amsterdam")
        push(client, name, local, batch=40)
    store = open_store(any_api.db_url, home=any_api.home)
    try:
        repo = SqlMeterRepository(store)
        meter = repo.get(name)
        loaded = repo.load(name)
    finally:
        store.close()
    assert (meter.unit, meter.timezone, meter.site, meter.step) == (
        "kWh",
        "Europe/Amsterdam",
        "Depot",
        pd.Timedelta("1h"),
    )
    pd.testing.assert_frame_equal(loaded, local, check_freq=False)


def test_a_meter_saved_by_the_app_is_served_by_the_api(any_api) -> None:
    """A meter imported through SqlMeterRepository (as the app saves one) is listed and read over HTTP."""
    name = new_name("app")
    frame = hourly(2)
    store = open_store(any_api.db_url, home=any_api.home)
    try:
        SqlMeterRepository(store).import_frame(name, frame, unit="MWh", step=pd.Timedelta("1h"))
    finally:
        store.close()
    with any_api.client() as client:
        listed = {m["name"]: m for m in client.get("/v1/meters").json()}
        readings = client.get(f"/v1/meters/{name}/readings").json()["readings"]
        deleted = client.delete(f"/v1/meters/{name}").json()
    assert listed[name]["unit"] == "MWh" and listed[name]["readings"] == 48
    assert [r["value"] for r in readings] == frame["value"].tolist()
    assert deleted == {"name": name, "readings_deleted": 48}
