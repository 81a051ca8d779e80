"""Labels fixtures: a SQLite store with one meter holding an anomalous synthetic series, and a
copy of one whose labels trained two model versions (``versioned``: fitted once a session)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.detect.pipeline import DetectorSettings
from core.labels.retrain import retrain_meter
from core.store.db import Store, open_store
from core.store.labels import SqlLabelRepository
from core.store.meters import SqlMeterRepository
from core.store.model_versions import ModelVersion
from tests.conftest import inject_anomalies, synthetic_frame

METER = "boiler"
# (start, stop) positions of the spans a person labels on the 42-day frame
CONFIRMED = ((702, 703), (752, 758), (802, 814))  # the injected spike, drop to zero and flat run
DISMISSED = ((100, 104), (200, 203), (440, 444))


@pytest.fixture(scope="session")
def series() -> tuple[pd.DataFrame, pd.Series]:
    frame, injected = inject_anomalies(synthetic_frame())
    return frame, injected


def feedback(index: pd.DatetimeIndex) -> pd.Series:
    """Three confirmed and three dismissed spans as the learned detector's labels."""
    y = pd.Series(np.nan, index=index)
    for a, b in CONFIRMED:
        y.iloc[a:b] = 1.0
    for a, b in DISMISSED:
        y.iloc[a:b] = 0.0
    return y


def spans(index: pd.DatetimeIndex) -> pd.DataFrame:
    """The same labels as stored spans (inclusive ends)."""
    rows = [(index[a], index[b - 1], "real") for a, b in CONFIRMED]
    rows += [(index[a], index[b - 1], "not_anomaly") for a, b in DISMISSED]
    return pd.DataFrame(rows, columns=["start", "end", "verdict"])


@pytest.fixture
def store(tmp_path: Path, series) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'w.db'}", home=tmp_path / "home")
    SqlMeterRepository(opened).import_frame(METER, series[0], unit="kWh")
    try:
        yield opened
    finally:
        opened.close()


@dataclass(frozen=True)
class Versioned:
    """A home (its database) holding the meter with two model versions, and the versions."""

    home: Path
    v1: ModelVersion
    v2: ModelVersion


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory, series) -> Versioned:
    """Fitted once a session, with few boosting rounds (fast): version 1 from three confirmed and
    two dismissed spans, version 2 (current) with a third dismissed one: another model and folder."""
    root = tmp_path_factory.mktemp("versions")
    fast = DetectorSettings.of("learned", max_iter=20)
    opened = open_store(home=root / "home")
    try:
        SqlMeterRepository(opened).import_frame(METER, series[0], unit="kWh")
        labels, given = SqlLabelRepository(opened), spans(series[0].index)
        labels.add_many(METER, given.iloc[:5])
        v1 = retrain_meter(opened, METER, settings=fast, root=root / "models").version
        labels.add_many(METER, given.iloc[5:])
        v2 = retrain_meter(opened, METER, settings=fast, root=root / "models").version
    finally:
        opened.close()
    assert v1.artefact_path != v2.artefact_path
    return Versioned(root / "home", v1, v2)


@pytest.fixture
def versioned(template: Versioned, tmp_path: Path) -> Iterator[tuple[Store, Versioned]]:
    """This test's own copy of the template's database (the model folders are shared: read only)."""
    home = tmp_path / "home"
    shutil.copytree(template.home, home)
    opened = open_store(home=home)
    try:
        yield opened, Versioned(home, template.v1, template.v2)
    finally:
        opened.close()
