"""Where a fleet's meters come from, one at a time: saved meters, a long-format file, a folder.

A source is a :class:`Source`: a description, the number of meters when known, and ``items``, an
iterator of :class:`MeterItem` that a runner pulls only as fast as it submits work, so a fleet is
never in memory at once. An item is small and picklable; ``item.load()`` (run on the worker) gives
the :class:`~core.fleet.portfolio.MeterInput` and raises a one-line DataError for a bad meter.

=================  ==========================================================================
source             items
=================  ==========================================================================
saved meters       ``stored_meters(store, owner)``: each meter of ``owner`` read from the store
                   (one at a time, in the driver) and laid on its grid, missing steps NaN, by
                   ``core.detect.meters.gridded`` (the API's and the worker's grid)
a file             ``file_source(path)``: one meter, or with a meter column (LEAD's
                   ``building_id``) one item per id in file order; each id's rows travel as a
                   small Parquet table and are read on the worker by ``parse_upload``, the
                   reader every upload goes through
a folder           ``folder_source(path)``: every CSV / JSON / Parquet file in it, each as above
an upload          ``upload_source(data, filename)``: the bytes of one file, exactly as ``file_source``
                   reads a file on disk (the Upload page's "Score all meters")
=================  ==========================================================================

A ``metadata.csv`` beside the files with a ``building_id`` column (LEAD's layout: ``site_id``,
``primary_use``) gives each id its site and building type.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from core.detect.meters import gridded
from core.errors import DataError
from core.fleet.portfolio import MeterInput
from core.ingest.columns import DEFAULT_UNIT, guess_columns, resolve
from core.ingest.data import CleanOptions, Schema, parse_upload
from core.ingest.declared import check_upload
from core.ingest.readers import read_table
from core.store.db import Store
from core.store.meters import SqlMeterRepository
from core.store.records import Meter

SUFFIXES = (".csv", ".txt", ".json", ".jsonl", ".ndjson", ".parquet")
METADATA = "metadata.csv"


class MeterItem(Protocol):
    """One meter to score: its name now, its readings when ``load()`` runs (on a worker)."""

    name: str

    def load(self) -> MeterInput: ...


@dataclass(frozen=True)
class Source:
    """A fleet: what it is in words, how many meters (None when not known), and the items."""

    description: str
    items: Iterable[MeterItem]
    total: int | None = None


@dataclass(frozen=True)
class FrameItem:
    """A meter whose frame is already read (saved meters, tests)."""

    meter: MeterInput

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.meter.name

    def load(self) -> MeterInput:
        return self.meter


@dataclass(frozen=True)
class BytesItem:
    """A meter's rows as file bytes, read on the worker exactly as an upload is read."""

    name: str
    data: bytes
    filename: str
    schema: Schema = Schema()
    options: CleanOptions = CleanOptions()
    site: str | None = None
    building_type: str | None = None

    def load(self) -> MeterInput:
        ds = parse_upload(self.data, self.filename, self.schema, self.options, name=self.name)
        return MeterInput(self.name, ds.frame, ds.freq, ds.unit, self.site, self.building_type)


@dataclass(frozen=True)
class FailedItem:
    """A meter that could not even be read in the driver: scoring it reports ``reason``."""

    name: str
    reason: str

    def load(self) -> MeterInput:
        raise DataError(self.reason)


# ---- saved meters ---------------------------------------------------------------------------------
def stored_meters(store: Store, owner: str | None = None) -> Source:
    """Every saved meter of ``owner`` (the workspace by default), read one by one when pulled."""
    repo = SqlMeterRepository(store)
    meters = repo.list(owner=owner)
    who = "the workspace" if owner is None else owner
    return Source(
        f"{len(meters)} saved meters of {who} in {store.where}",
        (_stored_item(repo, m, owner) for m in meters),
        len(meters),
    )


def _stored_item(repo: SqlMeterRepository, meter: Meter, owner: str | None) -> MeterItem:
    try:
        frame = repo.load(meter.name, owner=owner)
        frame, step = gridded(frame, meter.step, f"meter {meter.name!r}")
    except DataError as err:
        return FailedItem(meter.name, str(err))
    unit = meter.unit or DEFAULT_UNIT
    return FrameItem(MeterInput(meter.name, frame, step, unit, meter.site, meter.building_type))


# ---- files and folders ----------------------------------------------------------------------------
def file_source(
    path: str | Path, schema: Schema = Schema(), options: CleanOptions = CleanOptions()
) -> Source:
    """One file: a single meter, or every id of its meter column (long format)."""
    path = Path(path)
    if path.is_dir():
        return folder_source(path, schema, options)
    if not path.is_file():
        raise DataError(
            f"{path} does not exist: give a file, a folder or 'meters' (the saved ones)."
        )
    ids, items = _file_items(path, schema, options, _metadata(path.parent))
    return Source(f"{ids} meters in {path.name}", items, ids)


def folder_source(
    path: str | Path, schema: Schema = Schema(), options: CleanOptions = CleanOptions()
) -> Source:
    """Every data file in a folder (not its subfolders), in name order; ``metadata.csv`` is not one."""
    path = Path(path)
    files = sorted(
        p
        for p in path.iterdir()
        if p.is_file() and p.suffix.lower() in SUFFIXES and p.name.lower() != METADATA
    )
    if not files:
        raise DataError(f"{path} holds no CSV, JSON or Parquet file: give a folder of meter files.")
    meta = _metadata(path)

    def items() -> Iterator[MeterItem]:
        seen: set[str] = set()
        for f in files:
            try:
                _, found = _file_items(f, schema, options, meta)
            except DataError as err:
                yield FailedItem(f.name, str(err))
                continue
            for item in found:
                if item.name in seen:  # the same id in two files: keep both, named apart
                    item = _renamed(item, f"{item.name} ({f.name})")
                seen.add(item.name)
                yield item

    return Source(f"{len(files)} files in {path}", items(), None)


def upload_source(
    data: bytes, filename: str, schema: Schema = Schema(), options: CleanOptions = CleanOptions()
) -> Source:
    """The bytes of one upload, read as ``file_source`` reads a file: a single meter, or every id of
    its meter column (long format); ``schema.meter`` (the one meter the Upload page shows) is
    ignored. An upload has no ``metadata.csv`` beside it, so sites and types stay unknown."""
    schema = replace(schema, meter=None)
    ids, items = _table_items(data, filename, Path(filename).stem, schema, options, {})
    return Source(f"{ids} meters in {filename}", items, ids)


def _file_items(
    path: Path,
    schema: Schema,
    options: CleanOptions,
    meta: dict[str, tuple[str | None, str | None]],
) -> tuple[int, Iterator[MeterItem]]:
    """How many meters the file at ``path`` holds and their items."""
    return _table_items(path.read_bytes(), path.name, path.stem, schema, options, meta)


def _table_items(
    data: bytes,
    filename: str,
    stem: str,
    schema: Schema,
    options: CleanOptions,
    meta: dict[str, tuple[str | None, str | None]],
) -> tuple[int, Iterator[MeterItem]]:
    """How many meters a file's bytes hold and their items (the table is read once, here); a
    file without a meter column is one meter named ``stem``."""
    check_upload(len(data), filename)
    raw = read_table(data, filename).frame
    roles = resolve(guess_columns(raw), schema, filename)
    if roles.meter_col is None:
        site, kind = meta.get(stem, (None, None))
        return 1, iter([BytesItem(stem, data, filename, schema, options, site, kind)])
    ids = raw[roles.meter_col].astype("string")
    groups = {str(k): v for k, v in ids.groupby(ids, sort=False).indices.items()}
    # the columns each slice is read with: the ones found here, so every slice reads alike
    sliced = Schema(
        timestamp_col=roles.timestamp_col,
        value_col=roles.value_col,
        label_col=roles.label_col,
        covariate_cols=tuple(roles.covariate_cols),
        unit=schema.unit,
        tz=schema.tz,
    )
    keep = [c for c in raw.columns if c != roles.meter_col]

    def items() -> Iterator[MeterItem]:
        for meter_id, rows in groups.items():
            site, kind = meta.get(meter_id, (None, None))
            part = raw.iloc[np.sort(rows)][keep].reset_index(drop=True)
            yield BytesItem(
                meter_id,
                _table_bytes(part),
                f"{filename} ({roles.meter_col} {meter_id})",
                sliced,
                options,
                site,
                kind,
            )

    return len(groups), items()


def _table_bytes(part: pd.DataFrame) -> bytes:
    """One meter's rows as Parquet (types kept as read); CSV when a column will not convert."""
    buf = io.BytesIO()
    try:
        part.to_parquet(buf, index=False)
    except (TypeError, ValueError, ImportError, ArithmeticError):  # e.g. mixed text and numbers
        return part.to_csv(index=False).encode()
    return buf.getvalue()


def _metadata(folder: Path) -> dict[str, tuple[str | None, str | None]]:
    """id -> (site, building type) from ``metadata.csv`` (LEAD's), {} when there is none."""
    path = folder / METADATA
    if not path.is_file():
        return {}
    try:
        meta = pd.read_csv(path, dtype="string")
    except (ValueError, OSError, UnicodeDecodeError):
        return {}
    cols = {c.lower(): c for c in meta.columns}
    key = cols.get("building_id") or cols.get("meter") or cols.get("meter_id")
    if key is None:
        return {}
    site, kind = (
        cols.get("site_id") or cols.get("site"),
        cols.get("primary_use") or cols.get("building_type"),
    )
    out = {}
    for row in meta.to_dict("records"):
        if pd.isna(row[key]):
            continue
        out[str(row[key])] = (
            None if site is None or pd.isna(row[site]) else str(row[site]),
            None if kind is None or pd.isna(row[kind]) else str(row[kind]),
        )
    return out


def _renamed(item: MeterItem, name: str) -> MeterItem:
    if isinstance(item, BytesItem):
        return BytesItem(
            name, item.data, item.filename, item.schema, item.options, item.site, item.building_type
        )
    return FailedItem(name, getattr(item, "reason", "could not be read"))
