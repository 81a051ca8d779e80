"""The meter's current model version is what detection on it uses: ``core.labels.current``, the
API's ``POST /v1/meters/{m}/detect`` and the app's fit path (``core.ui.cache``); a roll back is
seen on the next detection without clearing anything; a version that cannot be loaded says so."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from sqlalchemy import update

from core.api import stored
from core.detect.pipeline import DetectorSettings
from core.detect.scoring import score_frame
from core.errors import DataError
from core.labels.current import current_detector, current_model_id
from core.store.db import NotFoundError, Store
from core.store.meters import SqlMeterRepository
from core.store.model_versions import SqlModelVersionRepository
from core.store.schema import models
from tests.labels.conftest import METER

LEARNED = DetectorSettings("learned")


def test_none_before_a_retrain(store: Store) -> None:
    assert current_detector(store, METER) is None
    assert current_model_id(store, METER, detector="learned") is None
    with pytest.raises(NotFoundError):
        current_detector(store, "no-such-meter")


def test_versions_are_kept_outside_the_model_cache(template) -> None:
    """A version's folder is in the store's home (the model cache's trim never deletes it)."""
    for v in (template.v1, template.v2):
        folder = Path(v.artefact_path)
        assert folder.parent.parent == template.home / "model_versions"
        assert (folder / "detector.json").is_file()


def test_current_version_follows_retrain_and_roll_back(versioned) -> None:
    """The current version, loaded; only for its own detector; a roll back moves it; another
    owner sees no meter; a folder that cannot be loaded is a DataError saying what to do."""
    store, v = versioned
    det, model_id = current_detector(store, METER, None, detector="learned")
    assert model_id == v.v2.model_id and det.model_ is not None  # trained, not the fallback
    assert current_model_id(store, METER) == v.v2.model_id
    assert current_detector(store, METER, detector="ensemble") is None
    with pytest.raises(NotFoundError):
        current_detector(store, METER, "another-org")
    SqlModelVersionRepository(store).rollback(METER)
    old, model_id = current_detector(store, METER)
    assert model_id == v.v1.model_id and old is not det
    with store.writing() as conn:  # version 2's folder gone (trimmed from the model cache)
        conn.execute(
            update(models).where(models.c.id == v.v2.model_id).values(artefact_path="/nowhere")
        )
    SqlModelVersionRepository(store).rollback(METER, to_version=2)
    with pytest.raises(DataError, match="version 2 of meter boiler cannot be loaded.*retrain"):
        current_detector(store, METER)


def test_the_api_detects_with_the_current_version(versioned, monkeypatch) -> None:
    """``POST /v1/meters/{m}/detect`` with the learned detector uses the current version (never
    fits), names it as the run's model, and follows a roll back."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's TestClient deprecation note
        from fastapi.testclient import TestClient

    from core.api.app import create_app

    store, v = versioned

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted although the meter has a current version")

    monkeypatch.setattr(stored, "fitted", no_fit)
    with TestClient(create_app(store)) as client:
        first = client.post(f"/v1/meters/{METER}/detect", json={"detector": "learned"})
        SqlModelVersionRepository(store).rollback(METER)
        second = client.post(f"/v1/meters/{METER}/detect", json={"detector": "learned"})
    assert first.status_code == 200, first.text
    assert first.json()["run"]["model_id"] == v.v2.model_id
    assert second.json()["run"]["model_id"] == v.v1.model_id


def test_the_app_scores_a_saved_meter_with_its_current_version(versioned, monkeypatch):
    """The page's fit path on a saved meter loads the current version; after a roll back the
    next ``scored`` is the older version's scores (the caches are keyed on the version)."""
    from core.ingest.refs import DatasetRef
    from core.ui import cache

    store, v = versioned
    monkeypatch.setenv("WATTSUP_HOME", str(v.home))
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        ref = DatasetRef.meter(METER, SqlMeterRepository(store).revision(METER))
        det2, _ = current_detector(store, METER)
        assert cache.fitted_detector(ref, LEARNED) is det2
        assert cache.model_ready(ref, LEARNED)
        frame = cache.dataset(ref).frame
        now = cache.scored(ref, LEARNED)
        pd.testing.assert_series_equal(now["score"], score_frame(det2, frame)["score"])
        SqlModelVersionRepository(store).rollback(METER)
        det1, _ = current_detector(store, METER)
        assert not cache.model_ready(ref, LEARNED)  # another version: not in memory yet
        back = cache.scored(ref, LEARNED)
        pd.testing.assert_series_equal(back["score"], score_frame(det1, frame)["score"])
        assert not back["score"].equals(now["score"])
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()
