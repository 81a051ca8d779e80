"""The readings parser's two paths give the same batch.

``core.api.batch_fast`` reads a uniform batch a column at a time; every other batch takes the
per-reading path. ``parse_batch(..., fast=False)`` forces the per-reading path, so each random body
below (JSON, NDJSON and CSV, with injected faults: bad times, duplicates, readings off the step,
text and booleans for numbers, missing keys, empty cells, ragged CSV lines) is parsed both ways and
must give the same frame (values, dtypes, column order, index), the same rejected rows and reasons,
or the same error.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pandas as pd
import pytest

from core.api import batch as batch_module
from core.api.batch import parse_batch
from core.errors import DataError
from core.store.records import Meter

MEDIA = {"json": "application/json", "ndjson": "application/x-ndjson", "csv": "text/csv"}


def _meter(zone: str | None, step: str | None, columns: tuple[str, ...] = ()) -> Meter:
    return Meter(
        id=1,
        name="hall-7",
        owner=None,
        unit="kWh",
        timezone=zone,
        step=None if step is None else pd.Timedelta(step),
        site=None,
        building_type=None,
        columns=columns,
        created=datetime(2024, 1, 1, tzinfo=UTC),
    )


METERS = [
    _meter("Europe/Paris", "1h"),
    _meter(None, "15min"),
    _meter("UTC", None, ("temperature",)),
]


def _time(rnd: random.Random, i: int, zone: str | None) -> object:
    base = pd.Timestamp("2024-03-30 20:00", tz="UTC")  # across Paris's spring change
    when = base + pd.Timedelta(hours=i)
    roll = rnd.random()
    if roll < 0.03:
        return "not a time"
    if roll < 0.05:
        return "2024-03-31T02:30:00"  # skipped by daylight saving in Paris
    if roll < 0.07:
        when += pd.Timedelta(minutes=7)  # off the step
    if roll < 0.09 and i:
        when -= pd.Timedelta(hours=1)  # a duplicate of the previous reading
    if zone is None:
        return when.strftime("%Y-%m-%dT%H:%M:%S")
    if roll > 0.95:
        return int(when.timestamp())  # Unix seconds
    return when.tz_convert(zone).isoformat()


def _number(rnd: random.Random, faults: bool, text: bool) -> object:
    roll = rnd.random()
    if text and roll > 0.10:  # a gateway that sends every number as text
        return f"{rnd.uniform(0, 500):.3f}"
    if faults and roll < 0.03:
        return "abc"
    if faults and roll < 0.05:
        return True
    if faults and roll < 0.06:
        return 1e300  # beyond any meter: refused by row
    if roll < 0.10:
        return None
    if roll < 0.30:
        return rnd.randint(0, 500)
    if faults and roll < 0.35:
        return f"{rnd.uniform(0, 500):.3f}"  # text among numbers
    return round(rnd.uniform(0, 500), 4)


def _objects(rnd: random.Random, meter: Meter) -> list[dict]:
    n = rnd.randint(1, 40)
    faults = rnd.random() < 0.5
    covariate = rnd.random() < 0.5
    text = rnd.random() < 0.2
    out = []
    order = list(range(n))
    if rnd.random() < 0.3:
        rnd.shuffle(order)
    for i in order:
        obj = {"timestamp": _time(rnd, i, meter.timezone), "value": _number(rnd, faults, text)}
        if covariate:
            obj["temperature"] = _number(rnd, faults, text)
        if faults and rnd.random() < 0.05:
            obj.pop(rnd.choice(["timestamp", "value"]))
        if faults and rnd.random() < 0.03:
            obj["humidity"] = 40
        out.append(obj)
    return out


def _csv(rnd: random.Random, objects: list[dict]) -> str:
    keys = ["timestamp", "value"] + (["temperature"] if "temperature" in objects[0] else [])
    lines = [",".join(keys)]
    for obj in objects:
        cells = ["" if obj.get(k) is None else str(obj.get(k)) for k in keys]
        if rnd.random() < 0.03:
            cells.append("7")  # a ragged line
        lines.append(",".join(cells))
        if rnd.random() < 0.03:
            lines.append("")
    return "\n".join(lines) + "\n"


def _body(rnd: random.Random, fmt: str, meter: Meter) -> bytes:
    objects = _objects(rnd, meter)
    if fmt == "json":
        return json.dumps(objects).encode()
    if fmt == "ndjson":
        return "\n".join(json.dumps(o) for o in objects).encode()
    return _csv(rnd, objects).encode()


def _outcome(body: bytes, fmt: str, meter: Meter, fast: bool):
    try:
        got = parse_batch(body, MEDIA[fmt], meter, fast=fast)
    except DataError as err:
        return ("error", type(err).__name__, str(err))
    return got


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv"])
def test_fast_and_per_reading_paths_agree(fmt, monkeypatch):
    taken = {"fast": 0}
    uniform = batch_module.uniform_readings

    def counting(*args, **kwargs):
        read = uniform(*args, **kwargs)
        taken["fast"] += read is not None
        return read

    monkeypatch.setattr(batch_module, "uniform_readings", counting)
    rnd = random.Random(f"batch-paths-{fmt}")
    bodies = 0
    for _ in range(300):
        meter = rnd.choice(METERS)
        body = _body(rnd, fmt, meter)
        fast = _outcome(body, fmt, meter, True)
        slow = _outcome(body, fmt, meter, False)
        bodies += 1
        if isinstance(fast, tuple) or isinstance(slow, tuple):
            assert fast == slow, body[:300]
            continue
        assert (fast.format, fast.received) == (slow.format, slow.received)
        assert fast.rejected == slow.rejected, body[:300]
        pd.testing.assert_frame_equal(fast.frame, slow.frame, check_exact=True)
    # the comparison means something only if the fast path really read many of them
    assert taken["fast"] >= bodies // 4, taken


def test_a_clean_uniform_body_takes_the_fast_path(monkeypatch):
    calls = []
    uniform = batch_module.uniform_readings
    monkeypatch.setattr(
        batch_module, "uniform_readings", lambda *a, **k: calls.append(1) or uniform(*a, **k)
    )
    body = json.dumps(
        [{"timestamp": f"2024-01-01T{h:02d}:00:00+00:00", "value": h} for h in range(24)]
    ).encode()
    got = parse_batch(body, "application/json", _meter("UTC", "1h"))
    assert calls and len(got.frame) == 24 and not got.rejected
