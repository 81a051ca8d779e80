"""Shared fixtures: where the real data lives, and small seeded synthetic series."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE_DATA = REPO / "sample_data"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets beside the checkout (``../shared/data``)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real data folder missing: {SHARED_DATA}")
    return SHARED_DATA


def synthetic_frame(n_days: int = 42, freq: str = "1h", seed: int = 0) -> pd.DataFrame:
    """A canonical frame: daily + weekly cycle, temperature, noise. No anomalies."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range(
        "2023-01-02", periods=int(pd.Timedelta(f"{n_days}D") / pd.Timedelta(freq)), freq=freq
    )
    idx.name = "timestamp"
    hour = idx.hour + idx.minute / 60
    daily = 40 + 30 * np.exp(-((hour - 13) ** 2) / 18)
    weekly = np.where(idx.dayofweek >= 5, 0.6, 1.0)
    temp = 10 + 8 * np.sin(2 * np.pi * (hour - 9) / 24) + rng.normal(0, 1, len(idx))
    value = daily * weekly + 0.4 * temp + rng.normal(0, 1.5, len(idx))
    return pd.DataFrame({"value": value, "temperature": temp}, index=idx)


INJECTED = {  # kind -> (start offset in points from the end of week 4, length in points)
    "spike": (30, 1),
    "drop_to_zero": (80, 6),
    "flat": (130, 12),
    "level_shift": (200, 24),
}


def inject_anomalies(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Inject a spike, a drop to zero, a flat run and a level shift after the first four weeks.

    Returns the new frame and a 0/1 label series marking the injected points.
    """
    out = frame.copy()
    labels = pd.Series(0, index=frame.index, dtype=int)
    base = 24 * 28 if len(frame) > 24 * 35 else len(frame) // 2
    v = out["value"].to_numpy().copy()
    for kind, (off, length) in INJECTED.items():
        s = base + off
        sl = slice(s, s + length)
        if kind == "spike":
            v[sl] = v[sl] * 4 + 60
        elif kind == "drop_to_zero":
            v[sl] = 0.0
        elif kind == "flat":
            v[sl] = v[s - 1]
        elif kind == "level_shift":
            v[sl] = v[sl] + 45
        labels.iloc[sl] = 1
    out["value"] = v
    return out, labels


@pytest.fixture
def clean_frame() -> pd.DataFrame:
    return synthetic_frame()


@pytest.fixture
def anomalous_frame() -> tuple[pd.DataFrame, pd.Series]:
    return inject_anomalies(synthetic_frame())
