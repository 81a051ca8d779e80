"""Fleet scoring on a real Dask cluster (scheduler and worker as separate processes on loopback)."""

from __future__ import annotations

import dataclasses
import gc
import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from core.__main__ import main
from core.errors import DataError
from core.fleet import cluster as fleet_cluster
from core.fleet.portfolio import MeterInput, score_meter
from core.fleet.runner import SCHEDULER_VAR, score_fleet
from core.fleet.sources import FailedItem, FrameItem
from tests.fleet.cluster import dask_cluster
from tests.fleet.conftest import BUILDINGS
from tests.store.pg_server import free_port


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dask_cluster(tmp_path_factory.mktemp("dask")) as address:
        yield address


def test_scores_through_the_scheduler_in_the_environment(
    scheduler: str, meters, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With WATTSUP_DASK_SCHEDULER set, meters run on that cluster and come back as on their own;
    a failing meter is reported there too."""
    monkeypatch.setenv(SCHEDULER_VAR, scheduler)
    items = [FrameItem(m) for m in meters] + [FailedItem("gone", "meter 'gone' has no readings.")]
    outcomes = {o.name: o for o in score_fleet(items, batch_size=2)}
    assert outcomes["gone"].error == "meter 'gone' has no readings."
    for meter in meters:
        got = outcomes[meter.name]
        assert got.ok
        pd.testing.assert_frame_equal(got.result.events, score_meter(meter).events)


def test_meters_stream_with_a_bounded_number_in_flight(scheduler: str, meters) -> None:
    """The driver reads meters only as tasks come back: never more than in_flight batches ahead."""
    pulled: list[int] = []

    def items():
        for i in range(8):
            pulled.append(i)
            yield FrameItem(dataclasses.replace(meters[i % 4], name=f"m{i}"))

    names = []
    for outcome in score_fleet(items(), scheduler=scheduler, batch_size=1, in_flight=2):
        names.append(outcome.name)
        assert len(pulled) - len(names) <= 2 + 1  # in flight, plus the one submitted on return
    assert sorted(names) == [f"m{i}" for i in range(8)]


def test_a_batch_is_freed_in_the_driver_once_scored(meters) -> None:
    """On a local cluster no copy of a scored batch stays in the driver (its client and scheduler):
    a long fleet run does not grow the driver by every meter it scored."""
    items = (
        FrameItem(dataclasses.replace(meters[i % len(meters)], name=f"freed-{i}"))
        for i in range(12)
    )

    def alive() -> int:
        gc.collect()
        return sum(
            isinstance(o, MeterInput) and o.name.startswith("freed-") for o in gc.get_objects()
        )

    names = []
    for outcome in score_fleet(items, runner="dask", workers=1, batch_size=2, in_flight=1):
        names.append(outcome.name)
        if len(names) == 10:
            assert alive() <= 4  # the batch in flight and the one just read, nothing older
    assert names == [f"freed-{i}" for i in range(12)]


def test_cli_scores_a_long_file_on_the_cluster(
    scheduler: str, long_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """python -m core fleet score FILE --scheduler ADDRESS: exit 0, a summary, the portfolio CSV."""
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    out = tmp_path / "portfolio.csv"
    code = main(["fleet", "score", str(long_file), "--scheduler", scheduler, "--out", str(out)])
    assert code == 0
    assert "scored 4 of 4 meters" in capsys.readouterr().out
    portfolio = pd.read_csv(out, dtype={"meter": str})
    assert sorted(portfolio["meter"]) == sorted(BUILDINGS)
    assert portfolio["error"].isna().all() and (portfolio["events"] > 0).all()


def test_an_unreachable_scheduler_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listening at the address: a DataError naming it, after a short wait."""
    monkeypatch.setattr(fleet_cluster, "CONNECT_TIMEOUT_S", 1)
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(DataError, match="cannot reach the Dask scheduler"):
        list(score_fleet([], scheduler=address))


def _worker_environ() -> tuple[str | None, str | None, bool, dict, list[int]]:
    import logging
    import os

    import dask

    return (
        os.environ.get(fleet_cluster.TRIM_VAR),
        os.environ.get("OMP_NUM_THREADS"),
        dask.config.get(fleet_cluster.PROFILER),
        {key: dask.config.get(key) for key in fleet_cluster.QUIET},
        # what Dask's silence_logs sets: the level of the "distributed" logger's stream handlers
        sorted({h.level for h in logging.getLogger("distributed").handlers}),
    )


def test_local_workers_keep_glibc_adaptive_malloc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local workers start without Dask's MALLOC_TRIM_THRESHOLD_ (it costs a pandas-heavy meter
    ~10 % more CPU) but with its one-thread BLAS settings, without the stack profiler and with
    the slower monitors, logging only what is critical (a heartbeat that meets the scheduler
    closed at the end of a run is not); this process's environment and Dask settings are
    untouched."""
    monkeypatch.setenv(fleet_cluster.TRIM_VAR, "12345")
    with fleet_cluster.dask_client(workers=1) as client:
        seen = list(client.run(_worker_environ).values())
    assert seen == [(None, "1", False, fleet_cluster.QUIET, [logging.CRITICAL])]
    import dask

    assert dask.config.get(fleet_cluster.PROFILER) is True
    assert dask.config.get("distributed.admin.tick.interval") == "20ms"
    import os

    assert os.environ[fleet_cluster.TRIM_VAR] == "12345"
