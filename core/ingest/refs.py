"""``DatasetRef``: a small, hashable handle that is enough to rebuild a dataset (a bundled sample,
uploaded bytes by their sha256, plus the frozen schema and cleaning options, or a meter saved in the
database at one revision of its readings), and the sample helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.ingest.data import CleanOptions, Schema
from core.ingest.samples import DEFAULT_SAMPLE, SAMPLES


@dataclass(frozen=True)
class DatasetRef:
    """What ``st.session_state["dataset_key"]`` holds: small, hashable, enough to rebuild the dataset."""

    source: Literal["sample", "upload", "meter"]
    name: str  # sample key, the uploaded file's name, or the saved meter's name
    # sha256 of the uploaded bytes; for a meter its revision (``SqlMeterRepository.revision``), so
    # every cache keyed on the ref starts afresh when the meter's readings change; "" for samples
    digest: str = ""
    schema: Schema = field(default_factory=Schema)
    options: CleanOptions = field(default_factory=CleanOptions)
    owner: str | None = None  # a meter's owner (its organisation; None = the workspace)

    @classmethod
    def sample(cls, key: str, options: CleanOptions | None = None, schema: Schema | None = None):
        return cls("sample", key, "", schema or Schema(), options or CleanOptions())

    @classmethod
    def meter(cls, name: str, revision: str, owner: str | None = None) -> DatasetRef:
        """A saved meter of ``owner`` as its readings were at ``revision`` (stored readings need
        no cleaning)."""
        return cls("meter", name, revision, owner=owner)


def sample_bytes(key: str) -> tuple[bytes, str]:
    """The bundled sample's file bytes and file name."""
    sample = SAMPLES[key]
    path = sample.path
    return path.read_bytes(), path.name


def sample_base_options(key: str) -> CleanOptions:
    """The cleaning options a bundled sample is shown with by default."""
    return SAMPLES[key].options


def sample_options() -> dict[str, str]:
    """Bundled samples: key -> title, default first."""
    keys = [DEFAULT_SAMPLE, *[k for k in SAMPLES if k != DEFAULT_SAMPLE]]
    return {k: str(getattr(SAMPLES[k], "title", "") or k) for k in keys if k in SAMPLES}


def default_ref() -> DatasetRef:
    return DatasetRef.sample(DEFAULT_SAMPLE)
