"""Bundled samples: real files with credits, parsed like uploads; the report keys stay documented."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import core.ingest.data
from core.ingest.data import DataError
from core.ingest.samples import DEFAULT_SAMPLE, SAMPLE_DIR, SAMPLES, load_sample


def test_default_sample_is_a_year_of_hourly_building_load() -> None:
    """The default dataset: 8,760 hourly kW points with outdoor temperature, resampling said."""
    ds = load_sample(DEFAULT_SAMPLE)
    assert DEFAULT_SAMPLE == "polito_building"
    assert (len(ds.frame), ds.freq, ds.unit) == (8760, pd.Timedelta("1h"), "kW")
    assert list(ds.frame.columns) == ["value", "temperature"]
    assert ds.report.changes == [
        "Resampled from 15min to 1h: averaged the power readings (kW) in each step."
    ]
    assert ds.name == SAMPLES[DEFAULT_SAMPLE].title


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_every_sample_loads_and_is_credited(key: str) -> None:
    """Each sample parses, its file exists, and the README names its file and license."""
    sample = SAMPLES[key]
    assert sample.key == key and sample.path.parent == SAMPLE_DIR
    assert sample.license and sample.credit and sample.description
    ds = load_sample(key)
    assert len(ds.frame) >= core.ingest.data.MIN_POINTS and ds.digest
    readme = (SAMPLE_DIR / "README.md").read_text()
    assert sample.path.name in readme and f"`{key}`" in readme


def test_sample_folder_is_small_and_holds_no_research_only_data() -> None:
    """Under 5 MB in all, and no LEAD (research-only) file bundled."""
    files = [p for p in SAMPLE_DIR.iterdir() if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 5 * 1024 * 1024
    assert not any("building_" in p.name and p.name.startswith("building_") for p in files)
    for p in files:
        if p.suffix == ".csv":
            assert b"meter_reading,anomaly" not in p.read_bytes()[:200]


def test_unknown_sample() -> None:
    """An unknown key lists the samples."""
    with pytest.raises(
        DataError,
        match=r"^No sample named 'nope': choose one of polito_building, pjm_comed, uk_demand.$",
    ):
        load_sample("nope")


def test_every_report_key_is_documented() -> None:
    """Each key parse_upload writes appears in core.ingest.data's module docstring, so the docs stay honest."""
    doc = core.ingest.data.__doc__
    documented = set(re.findall(r"``(\w+)``", doc))
    report = load_sample("pjm_comed").report.to_dict()
    missing = [k for k in report if k not in documented]
    assert missing == []
