"""Small real datasets bundled in ``sample_data/`` (licenses and credit in its README.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.ingest.data import CleanOptions, DataError, Dataset, Schema, parse_upload

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"


@dataclass(frozen=True)
class Sample:
    """One bundled file and the settings that turn it into the dataset the app shows."""

    key: str
    title: str
    description: str
    path: Path
    schema: Schema = Schema()
    options: CleanOptions = CleanOptions()
    license: str = ""
    credit: str = ""


SAMPLES: dict[str, Sample] = {
    s.key: s
    for s in (
        Sample(
            key="polito_building",
            title="University building, Turin (2019)",
            description="One year of a Politecnico di Torino building's electrical load (kW) with "
            "outdoor temperature, measured every 15 minutes and averaged to hourly.",
            path=SAMPLE_DIR / "polito_building_load_temp.csv",
            options=CleanOptions(freq="1h"),
            license="MIT",
            credit="Politecnico di Torino, via the PyPI package contextual-anomaly-detector 1.0.1 (Roberto Chiosa)",
        ),
        Sample(
            key="pjm_comed",
            title="ComEd region load, PJM (2011-2018)",
            description="Hourly electricity load (MW) of the Commonwealth Edison region, with the real "
            "daylight-saving duplicates and missing hours of the source.",
            path=SAMPLE_DIR / "pjm_comed_hourly.csv",
            license="CC0 1.0",
            credit="PJM Interconnection hourly load data",
        ),
        Sample(
            key="uk_demand",
            title="England & Wales demand (summer 2000)",
            description="Half-hourly national electricity demand (MW), 5 June to 27 August 2000.",
            path=SAMPLE_DIR / "taylor_uk_demand.csv",
            license="MIT",
            credit="James W. Taylor (2003), via pmdarima's taylor dataset",
        ),
    )
}
DEFAULT_SAMPLE = "polito_building"


def load_sample(key: str = DEFAULT_SAMPLE) -> Dataset:
    """Parse a bundled sample exactly as an upload of the same file would be parsed."""
    sample = SAMPLES.get(key)
    if sample is None:
        raise DataError(f"No sample named {key!r}: choose one of {', '.join(SAMPLES)}.")
    return parse_upload(
        sample.path.read_bytes(), sample.path.name, sample.schema, sample.options, name=sample.title
    )
