"""Fleet scoring: meter-years per second and peak memory, on Dask, in a plain loop, and with
``concurrent.futures``; peak memory at 100, 1,000 and 5,000 meters.

``python -m benchmarks.fleet [--meters N] [--sizes 100,1000,5000] [--budget S] [--cases ...]
[--rounds R]`` prints one JSON row per case; with ``--rounds`` the Dask and ``concurrent.futures``
cases alternate R times (a shared box's slow spells then fall on both) and a last row gives their
ratio per round and its median.

The fleet is built from the real series in ``../shared/data``: the 43 complete calendar years of
hourly load in it (PJM zones PJME 2002-2017, DAYTON 2005-2017, COMED 2011-2017, in MW; the four LEAD
buildings of 2016, kWh; the UCI household 2007-2009, kW). Meter ``k`` is base year ``k % 43``
**shifted in time** by ``53 x (k // 43)`` days (so weekdays and holidays fall elsewhere and the week
profile, the fit and the events differ) and scaled by a factor in 0.5-2 (seeded): every meter is
one meter-year of real hourly readings, none identical to another. Meters are made one at a time
as the runner pulls them, so the driver never holds the fleet.

Every case scores with the default detector and threshold (``FleetSettings()``: the ensemble of
Isolation Forest and the meter-fault rules, sigma k = 2), through ``core.fleet.runner.score_fleet``
or, for ``concurrent.futures``, the same ``score_batch`` mapped by a ``ProcessPoolExecutor`` of 2
processes with the same bound on batches in flight. Wall time includes starting the workers (the
Dask row also gives the time to the first result). Peak memory is the largest sum of the resident
set sizes of this process and all its children (scheduler, nannies, workers), sampled every 0.2 s
with psutil: an upper bound, since pages shared between processes count once per process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from core.fleet.portfolio import FleetSettings, MeterInput
from core.fleet.runner import BATCH_SIZE, batches, score_batch, score_fleet
from core.fleet.sources import FrameItem
from core.ingest.data import parse_upload

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SERIES = (  # file, years kept (complete calendar years only)
    ("pjm_hourly/PJME_hourly.csv", range(2002, 2018)),
    ("pjm_hourly/DAYTON_hourly.csv", range(2005, 2018)),
    ("pjm_hourly/COMED_hourly.csv", range(2011, 2018)),
    ("lead_dev/building_118.csv", (2016,)),
    ("lead_dev/building_121.csv", (2016,)),
    ("lead_dev/building_697.csv", (2016,)),
    ("lead_dev/building_1074.csv", (2016,)),
    ("uci_household_hourly/household_power_consumption_hourly.csv", range(2007, 2010)),
)
SHIFT_DAYS = 53
CASES = ("profile", "dask", "futures", "loop", "memory")
WORKERS = 2  # this machine's cores


def base_years() -> list[MeterInput]:
    """The 43 real meter-years the fleet is made of."""
    out = []
    for rel, years in SERIES:
        path = DATA / rel
        ds = parse_upload(path.read_bytes(), path.name)
        frame = ds.frame.drop(columns="label", errors="ignore")[["value"]]
        for year in years:
            part = frame[frame.index.year == year]
            out.append(MeterInput(f"{path.stem}_{year}", part, ds.freq, ds.unit))
    return out


def fleet(n: int, bases: list[MeterInput]) -> Iterator[FrameItem]:
    """Meter ``k`` of ``n``: base year ``k % len(bases)`` shifted and scaled (module docstring)."""
    rng = np.random.default_rng(17)
    for k in range(n):
        base = bases[k % len(bases)]
        shift = pd.Timedelta(days=SHIFT_DAYS * (k // len(bases)))
        frame = base.frame * float(rng.uniform(0.5, 2.0))
        frame.index = (base.frame.index + shift).rename("timestamp")
        frame.index.freq = base.frame.index.freq
        yield FrameItem(MeterInput(f"m{k:05d}", frame, base.freq, base.unit))


class PeakMemory:
    """The largest RSS of this process plus all its children, and the CPU time they used, sampled
    in a thread (a child that ended keeps the CPU time it was last seen with)."""

    def __init__(self, every_s: float = 0.2) -> None:
        self.every_s, self.peak, self._stop = every_s, 0, threading.Event()
        self._cpu: dict[int, float] = {}
        self._cpu0 = 0.0
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a process that just ended
                    total += p.memory_info().rss
                    t = p.cpu_times()
                    self._cpu[p.pid] = t.user + t.system
            self.peak = max(self.peak, total)
            self._stop.wait(self.every_s)

    def __enter__(self) -> PeakMemory:
        t = psutil.Process().cpu_times()
        self._cpu0 = t.user + t.system  # this process's CPU before the case
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mb(self) -> float:
        return round(self.peak / 2**20, 1)

    @property
    def cpu_s(self) -> float:
        """CPU seconds of the whole tree during the case (children: all their life)."""
        return sum(self._cpu.values()) - self._cpu0


def _row(
    case: str, n: int, wall: float, scored: int, failed: int, mem: PeakMemory, cores: int, **extra
) -> dict:
    """One case on ``cores`` cores. On a shared box the wall rate understates what the code does:
    ``cpu_s`` (the tree's CPU time) gives the rate the same work reaches on ``cores`` free cores,
    scored / (cpu_s / cores) (process start and imports included)."""
    cpu = mem.cpu_s
    return {
        "case": case,
        "meters": n,
        "scored": scored,
        "failed": failed,
        "wall_s": round(wall, 1),
        "meter_years_per_s": round(scored / wall, 2) if wall else None,
        "peak_mb": mem.mb,
        "cpu_s": round(cpu, 1),
        "meter_years_per_s_free_cores": round(scored / (cpu / cores), 2) if cpu > 0 else None,
        "load_1m": round(os.getloadavg()[0], 1),  # other work on the box slows every case
        **extra,
    }


def run_score_fleet(
    case: str, n: int, bases, *, runner: str, budget_s: float | None = None
) -> dict:
    """``n`` meters through ``score_fleet`` (Dask: a LocalCluster of 2; or the plain loop)."""
    scored = failed = 0
    first = None
    start = time.perf_counter()
    with PeakMemory() as mem:
        stream = score_fleet(fleet(n, bases), FleetSettings(), runner=runner, workers=WORKERS)
        for outcome in stream:
            first = first or time.perf_counter() - start
            scored += outcome.ok
            failed += not outcome.ok
            if budget_s is not None and time.perf_counter() - start > budget_s:
                stream.close()  # stops the cluster: what was measured so far stands
                break
    wall = time.perf_counter() - start
    extra = {"first_result_s": round(first or 0.0, 1)}
    if scored + failed < n:
        extra["stopped_after_budget_s"] = budget_s
    return _row(case, n, wall, scored, failed, mem, WORKERS if runner == "dask" else 1, **extra)


def run_futures(n: int, bases) -> dict:
    """The same batches mapped by ``concurrent.futures`` with 2 processes, as many in flight."""
    scored = failed = 0
    settings = FleetSettings()
    start = time.perf_counter()
    with PeakMemory() as mem, ProcessPoolExecutor(WORKERS) as pool:
        groups = batches(fleet(n, bases), BATCH_SIZE)
        pending = set()
        for batch in groups:
            pending.add(pool.submit(score_batch, batch, settings))
            if len(pending) >= 2 * WORKERS:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    for o in f.result():
                        scored += o.ok
                        failed += not o.ok
        for f in pending:
            for o in f.result():
                scored += o.ok
                failed += not o.ok
    wall = time.perf_counter() - start
    return _row("concurrent.futures, 2 processes", n, wall, scored, failed, mem, WORKERS)


def profile(bases, meters: int = 5) -> list[dict]:
    """Where one meter-year's time goes (cProfile over ``meters`` meter-years, default settings)."""
    import cProfile
    import pstats

    items = list(fleet(meters, bases))
    score_batch(items[:1], FleetSettings())  # warm imports
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    score_batch(items, FleetSettings())
    prof.disable()
    per_meter = (time.perf_counter() - start) / meters
    stats = pstats.Stats(prof).stats
    wanted = {
        "IsolationForest.fit": ("_iforest.py", "fit"),
        # one pass per frame (a detector remembers its last scored frame); three before
        "Isolation Forest scoring (_forest_scores)": ("isolation_forest.py", "_forest_scores"),
        "scikit-learn tag look-ups (__sklearn_tags__)": ("base.py", "__sklearn_tags__"),
        "feature matrix (feature_rows)": ("_common.py", "feature_rows"),
        "meter-fault rules fit": ("meter_fault.py", "_fit"),
        "events (find_events)": ("events.py", "find_events"),
        "week profile (fit_profile)": ("profile.py", "fit_profile"),
    }
    rows = [{"case": "profile: s per meter-year, all", "seconds": round(per_meter, 3)}]
    for label, (file, func) in wanted.items():
        cum = sum(v[3] for (f, _, fn), v in stats.items() if f.endswith(file) and fn == func)
        rows.append({"case": f"profile: {label}", "seconds": round(cum / meters, 3)})
    return rows


def run(
    smoke: bool = False,
    meters: int = 1_000,
    sizes: tuple[int, ...] = (100, 1_000, 5_000),
    budget_s: float = 600.0,
    cases: tuple[str, ...] = CASES,
    rounds: int = 1,
    log=print,
) -> list[dict]:
    """The ``cases`` (default all: ``CASES``); ``smoke`` scores 8 meters per case. The Dask and
    ``concurrent.futures`` cases run ``rounds`` times, one after the other, with their ratio per
    round and its median."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    bases = base_years()
    if smoke:
        meters, sizes = 8, (8,)
    rows: list[dict] = []

    def add(row: dict) -> None:
        log(json.dumps(row))
        rows.append(row)

    if "profile" in cases:
        for row in profile(bases, 2 if smoke else 5):
            add(row)
    ratios = []
    for r in range(1, rounds + 1):  # alternated, so a slow spell on a shared box hits both
        tag = {"round": r} if rounds > 1 else {}
        dask_row = futures_row = None
        if "dask" in cases:
            dask_row = run_score_fleet("dask LocalCluster, 2 workers", meters, bases, runner="dask")
            add({**dask_row, **tag})
        if "futures" in cases:
            futures_row = run_futures(meters, bases)
            add({**futures_row, **tag})
        if dask_row and futures_row:
            ratios.append(dask_row["meter_years_per_s"] / futures_row["meter_years_per_s"])
    if len(ratios) > 1:
        add(
            {
                "case": "dask / concurrent.futures, meter-years/s",
                "per_round": [round(x, 3) for x in ratios],
                "median": round(float(np.median(ratios)), 3),
            }
        )
    if "loop" in cases:
        add(run_score_fleet("plain loop, 1 process", meters, bases, runner="local"))
    for size in sizes if "memory" in cases else ():
        if size != meters:
            add(
                run_score_fleet(
                    "dask LocalCluster, 2 workers (memory)",
                    size,
                    bases,
                    runner="dask",
                    budget_s=budget_s,
                )
            )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.fleet")
    p.add_argument("--meters", type=int, default=1_000)
    p.add_argument("--sizes", default="100,1000,5000")
    p.add_argument("--budget", type=float, default=600.0, help="s at most per memory case")
    p.add_argument("--cases", default=",".join(CASES), help="some of " + ",".join(CASES))
    p.add_argument("--rounds", type=int, default=1, help="Dask and futures cases, alternated")
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args()
    sizes = tuple(int(s) for s in args.sizes.split(",") if s)
    cases = tuple(c for c in args.cases.split(",") if c)
    run(
        smoke=args.smoke,
        meters=args.meters,
        sizes=sizes,
        budget_s=args.budget,
        cases=cases,
        rounds=max(1, args.rounds),
    )


if __name__ == "__main__":
    main()
