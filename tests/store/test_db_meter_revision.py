"""A meter's revision (``SqlMeterRepository.revision``) and names, on both engines: the revision is
what the app keys its caches on, so it must change exactly when the stored readings change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.store.db import NotFoundError
from core.store.meters import SqlMeterRepository
from tests.store.conftest import hourly


def test_revision_is_stable_when_nothing_changes(meters: SqlMeterRepository) -> None:
    """Re-importing the same readings (nothing written) keeps the revision; reading it twice too."""
    frame = hourly(96)
    meters.import_frame("m", frame)
    first = meters.revision("m")
    assert len(first) == 64 and meters.revision("m") == first
    meters.import_frame("m", frame)
    assert meters.revision("m") == first


def test_revision_changes_on_append_and_on_a_replaced_value(meters: SqlMeterRepository) -> None:
    """An append changes it, a replaced value in the middle changes it, a kept conflict does not."""
    full = hourly(120, covariates=False)
    meters.import_frame("m", full.iloc[:100])
    before = meters.revision("m")
    meters.import_frame("m", full)
    appended = meters.revision("m")
    assert appended != before
    changed = full.copy()
    changed.iloc[50, 0] += 0.001  # same count, same span: only the checksum sees it
    meters.import_frame("m", changed, on_conflict="keep")
    assert meters.revision("m") == appended
    meters.import_frame("m", changed, on_conflict="replace")
    assert meters.revision("m") != appended


def test_revision_sees_values_moved_between_timestamps(meters: SqlMeterRepository) -> None:
    """Swapping two readings' values keeps their sum but not the timestamp-weighted checksum."""
    frame = hourly(48, covariates=False)
    meters.import_frame("m", frame)
    before = meters.revision("m")
    swapped = frame.copy()
    swapped.iloc[[3, 4], 0] = frame["value"].iloc[[4, 3]].to_numpy()
    assert swapped.iloc[3, 0] != frame.iloc[3, 0]
    meters.import_frame("m", swapped, on_conflict="replace")
    assert meters.revision("m") != before


def test_revision_handles_missing_and_huge_values(meters: SqlMeterRepository) -> None:
    """NaN (stored NULL) and values past the checksum's range give a revision, and a NaN that becomes
    a number changes it."""
    frame = hourly(48)
    frame.iloc[2, 0] = np.nan
    frame.iloc[3, 0] = 5e15
    meters.import_frame("m", frame)
    before = meters.revision("m")
    filled = frame.copy()
    filled.iloc[2, 0] = 1.0
    meters.import_frame("m", filled, on_conflict="replace")
    assert meters.revision("m") != before


def test_a_deleted_meter_has_no_revision(meters: SqlMeterRepository) -> None:
    """After a delete the revision is a NotFoundError; importing other readings under the same name
    gives another revision."""
    meters.import_frame("m", hourly(48))
    before = meters.revision("m")
    meters.delete("m")
    with pytest.raises(NotFoundError):
        meters.revision("m")
    meters.import_frame("m", hourly(48, start="2024-02-01"))
    assert meters.revision("m") != before


def test_revision_sees_a_replaced_covariate_of_the_same_length(meters: SqlMeterRepository) -> None:
    """A temperature 12.5 -> 13.5 (same JSON length, same value) changes the revision."""
    frame = hourly(48)
    column = frame.columns[1]
    frame[column] = 12.5
    meters.import_frame("m", frame)
    before = meters.revision("m")
    warmer = frame.copy()
    warmer.iloc[10, 1] = 13.5
    meters.import_frame("m", warmer, on_conflict="keep")
    assert meters.revision("m") == before  # a kept conflict writes nothing
    meters.import_frame("m", warmer, on_conflict="replace")
    assert meters.revision("m") != before


def test_a_meter_created_again_with_the_same_readings_gets_a_new_revision(
    meters: SqlMeterRepository,
) -> None:
    """Deleted and imported again at once (SQLite may hand back the same id in the same second):
    a cache keyed on the old revision can never be read for the new meter."""
    meters.import_frame("m", hourly(48))
    before = meters.revision("m")
    meters.delete("m")
    meters.import_frame("m", hourly(48))
    assert meters.revision("m") != before


def test_names_lists_meters_sorted(meters: SqlMeterRepository) -> None:
    """``names`` gives every meter's name in order, without reading any readings."""
    assert meters.names() == []
    for name in ("b", "a", "c"):
        meters.import_frame(name, hourly(48, start=pd.Timestamp("2024-01-01")))
    assert meters.names() == ["a", "b", "c"] == [m.name for m in meters.list()]
