"""A separate process that imports readings, for the store's concurrency and crash tests.

    python -m tests.store.import_worker append URL HOME METER FIRST COUNT BATCH READY GO
    python -m tests.store.import_worker hang URL HOME METER FIRST COUNT MARKER

``append`` touches READY, waits for GO to exist, then imports hours FIRST .. FIRST+COUNT-1 in
batches of BATCH readings (values from ``conftest.reading_values``) and prints the summed counts as
JSON. ``hang`` imports them with ``replace`` in one transaction but stops inside it, after every
write and before the commit: it touches MARKER and sleeps until the test kills it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd

from core.store import readings
from core.store.db import open_store
from core.store.meters import SqlMeterRepository
from tests.store.conftest import reading_values

WAIT_S = 120


def frame(first: int, count: int) -> pd.DataFrame:
    idx = pd.date_range(
        pd.Timestamp("2024-01-01") + pd.Timedelta(hours=first),
        periods=count,
        freq="h",
        name="timestamp",
        unit="ns",
    )
    return pd.DataFrame({"value": reading_values(idx)}, index=idx)


def append(url, home, meter, first, count, batch, ready, go) -> None:
    repo = SqlMeterRepository(open_store(url, home=Path(home)))
    Path(ready).touch()
    deadline = time.monotonic() + WAIT_S
    while not Path(go).exists():
        if time.monotonic() > deadline:
            raise SystemExit("never told to go")
        time.sleep(0.01)
    totals = {"inserted": 0, "unchanged": 0, "conflicting": 0}
    data = frame(int(first), int(count))
    for start in range(0, len(data), int(batch)):
        result = repo.import_frame(meter, data.iloc[start : start + int(batch)])
        for key in totals:
            totals[key] += getattr(result, key)
    print(json.dumps(totals))


def hang(url, home, meter, first, count, marker) -> None:
    repo = SqlMeterRepository(open_store(url, home=Path(home)))
    original = readings.merge

    def merge_then_hang(*args, **kwargs):
        written = original(*args, **kwargs)
        partial = Path(f"{marker}.partial")
        partial.write_text(str(written))
        partial.replace(marker)  # atomic: the test never reads an empty marker
        time.sleep(WAIT_S)  # killed here, inside the transaction
        return written

    readings.merge = merge_then_hang
    data = frame(int(first), int(count))
    data["value"] += 1000.0  # every overlapping reading conflicts, and replace rewrites it
    repo.import_frame(meter, data, on_conflict="replace")
    raise SystemExit("the import was not interrupted")


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"append": append, "hang": hang}[mode](*args)
