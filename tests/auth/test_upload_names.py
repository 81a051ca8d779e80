"""Hostile upload file names (path separators, ``..``, NUL bytes, 1 kB) never leave the blob folder:
the bytes are kept under their sha256, the recorded name is one clean path part, on both engines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.errors import DataError
from core.store.db import open_store
from core.store.meters import SqlMeterRepository
from core.store.schema import uploads
from core.store.uploads import NAME_CHARS, Upload, blob_path, stored_name
from tests.store.conftest import hourly

NAMES = [
    "../../../../etc/passwd",
    "..\\..\\windows\\system32\\evil.csv",
    "/abs/path/evil.csv",
    "..",
    "nul\x00byte.csv",
    "a" * 1024 + ".csv",
    "sub/dir/../../x\x00\n.csv",
]


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_hostile_names_stay_in_the_blob_folder(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    """Each import keeps its bytes as blobs/<sha256> and nothing else anywhere under tmp_path;
    the recorded names hold no separator, no NUL, at most 255 characters."""
    home = tmp_path / "home"
    store = open_store(db_url, home=home)
    repo = SqlMeterRepository(store)
    before = _files(tmp_path)
    try:
        for i, name in enumerate(NAMES):
            data = f"timestamp,value\n2024-01-01,{i}\n".encode()
            upload = Upload(data, name)
            repo.import_frame(f"m{i}", hourly(3) + i, upload=upload)
        with store.reading() as conn:
            recorded = list(conn.scalars(uploads.select().with_only_columns(uploads.c.filename)))
    finally:
        store.close()
    made = _files(tmp_path) - before
    blobs = {p for p in made if p.parent == home / "blobs"}
    assert len(blobs) == len(NAMES)
    assert all(len(p.name) == 64 for p in blobs)
    assert not {p for p in made - blobs if "blobs" in p.parts}  # no stray file in the folder
    assert not [p for p in made - blobs if p.parent != tmp_path]  # only the database's own files
    assert len(recorded) == len(NAMES)
    for name in recorded:
        assert "/" not in name and "\\" not in name and "\x00" not in name
        assert name not in ("", ".", "..") and len(name) <= NAME_CHARS


def test_stored_name_and_blob_path_rules(tmp_path: Path) -> None:
    """The name keeps its last part; a blob path is only ever made from a sha256."""
    assert stored_name("../../etc/passwd") == "passwd"
    assert stored_name("C:\\x\\y.csv") == "y.csv"
    assert stored_name("..") == stored_name("a/") == "upload"
    assert stored_name("x\x00y.csv") == "xy.csv"
    assert len(stored_name("b" * 1024)) == NAME_CHARS
    for bad in ("../x", "a" * 64 + "/..", os.sep + "0" * 64, "A" * 64):
        with pytest.raises(DataError):
            blob_path(tmp_path, bad)
    assert blob_path(tmp_path, "0" * 64) == tmp_path / "blobs" / ("0" * 64)
