"""The runners: the same per-meter function over a fleet, streaming, a failing meter reported."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from core.errors import DataError
from core.fleet.portfolio import MeterInput, score_meter
from core.fleet.runner import RUNNERS, batches, score_fleet
from core.fleet.sources import FailedItem, FrameItem
from tests.fleet.conftest import meter_input


def broken_meter() -> FrameItem:
    """A meter whose frame has no value column: the detector refuses it."""
    m = meter_input("697")
    return FrameItem(MeterInput("broken", m.frame.drop(columns="value"), m.freq, m.unit))


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_failing_meter_is_reported_and_the_rest_scored(runner: str, meters) -> None:
    """Every runner scores the good meters exactly as score_meter does and names the bad ones."""
    items = [
        FrameItem(meters[0]),
        broken_meter(),
        FailedItem("unreadable", "x.csv is empty: upload a file."),
        FrameItem(meters[1]),
    ]
    seen = []
    outcomes = list(
        score_fleet(
            items,
            runner=runner,
            workers=1,
            batch_size=2,
            total=len(items),
            progress=lambda done, total, o: seen.append((done, total, o.name)),
        )
    )
    by_name = {o.name: o for o in outcomes}
    assert sorted(by_name) == sorted(i.name for i in items)
    assert by_name["unreadable"].error == "x.csv is empty: upload a file."
    assert (
        by_name["broken"].error.startswith("ValueError: expected a canonical frame")
        and "\n" not in by_name["broken"].error
    )
    for meter in meters[:2]:
        got = by_name[meter.name]
        assert got.ok and got.error is None
        pd.testing.assert_frame_equal(got.result.events, score_meter(meter).events)
        assert got.result.row == score_meter(meter).row
    assert [d for d, _, _ in seen] == [1, 2, 3, 4] and {t for _, t, _ in seen} == {4}


def test_local_runner_pulls_meters_only_as_it_scores_them(meters) -> None:
    """Meters stream: the runner has read at most one batch ahead of what it has handed back."""
    pulled = []

    def items():
        for i in range(6):
            pulled.append(i)
            yield FrameItem(dataclasses.replace(meters[i % 2], name=f"m{i}"))

    for yielded, _ in enumerate(score_fleet(items(), runner="local", batch_size=2), start=1):
        assert len(pulled) - yielded <= 2
    assert len(pulled) == 6


def test_bad_runner_and_batch_size_are_one_line_errors() -> None:
    with pytest.raises(DataError, match="runner must be one of"):
        list(score_fleet([], runner="spark"))
    with pytest.raises(DataError, match="at least one meter"):
        list(batches([], 0))
