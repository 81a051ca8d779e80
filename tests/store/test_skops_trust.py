"""skops trust: hostile model files never run code, and the allow-list is exactly what our models use."""

from __future__ import annotations

import json
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io

from core.detect.detectors import REGISTRY
from core.store.model_files import BrokenModelError, load_detector, save_detector
from core.store.skops_trust import (
    ALLOWED_NODES,
    RefusedFile,
    load_allowed,
    read_schema,
    refused_nodes,
    schema_nodes,
)
from tests.conftest import REPO, inject_anomalies, synthetic_frame
from tests.store.payloads import PAYLOADS, edit_schema, json_node, node, write_skops

SLOW = ("lstm", "prophet")  # no scikit-learn inside; they have their own formats


@pytest.fixture(scope="module")
def frame():
    return inject_anomalies(synthetic_frame(n_days=21))[0]


@pytest.fixture(scope="module")
def saved_models(frame, tmp_path_factory) -> dict[str, Path]:
    """Every fast registered detector fitted once and saved: name -> model folder."""
    root = tmp_path_factory.mktemp("models")
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for name in REGISTRY:
            if name not in SLOW:
                out[name] = save_detector(REGISTRY[name]().fit(frame), root / name, {})
        # the learned detector holds its gradient-boosted model only once it has labels
        labelled = REGISTRY["learned"]().fit(frame, labels=_feedback(frame))
        out["learned labelled"] = save_detector(labelled, root / "learned-labelled", {})
    return out


def _feedback(frame):
    """Three confirmed spans and two dismissed ones, enough for the learned detector."""
    import pandas as pd

    y = pd.Series(np.nan, index=frame.index)
    for a, b, v in ((300, 303, 1), (340, 346, 1), (390, 400, 1), (100, 104, 0), (200, 203, 0)):
        y.iloc[a:b] = v
    return y


@pytest.fixture
def forest_folder(saved_models, tmp_path) -> Path:
    """A copy of a real Isolation Forest model folder, free to poison."""
    return Path(shutil.copytree(saved_models["isolation_forest"], tmp_path / "forest"))


def _schema(file: Path) -> dict:
    with zipfile.ZipFile(file) as archive:
        return json.loads(archive.read("schema.json"))


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_the_payloads_run_under_a_loader_that_trusts_what_skops_reports(name, tmp_path):
    """Each payload is live: trusting get_untrusted_types' answer (the usual recipe) runs it."""
    file, marker = tmp_path / "m.skops", tmp_path / "marker"
    PAYLOADS[name](file, marker)
    skops.io.load(file, trusted=skops.io.get_untrusted_types(file=file))
    assert marker.exists()


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_a_poisoned_model_folder_is_refused_and_nothing_runs(name, forest_folder, tmp_path):
    """A payload in a model folder's skops file raises BrokenModelError and never creates its marker."""
    marker = tmp_path / "marker"
    PAYLOADS[name](forest_folder / "model_.skops", marker)
    with pytest.raises(BrokenModelError, match="allow-list"):
        load_detector(forest_folder, REGISTRY)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("tree", "refused"),
    [
        # skops trusts every scikit-learn estimator by default; the project uses few of them
        (
            node("ObjectNode", "sklearn.linear_model._base", "LinearRegression"),
            "ObjectNode(sklearn.linear_model._base.LinearRegression)",
        ),
        # an allowed type through a loader that calls it is still refused
        (
            node("ConstructorFromReduceNode", "numpy", "float64", content=json_node([])),
            "ConstructorFromReduceNode(numpy.float64)",
        ),
        # skops trusts numpy ufuncs by default; none of our models holds a function
        (node("FunctionNode", "numpy", "log"), "FunctionNode(numpy.log)"),
        # object arrays are rebuilt item by item instead of read by np.load without pickle
        (node("NdArrayNode", "numpy", "ndarray", type="json", content=[]), "type='json'"),
        # a node whose names are not strings is never an allowed pair
        (node("ObjectNode", ["sklearn.pipeline"], "Pipeline"), "'ObjectNode'(['sklearn.pipeline']"),
    ],
)
def test_nodes_off_the_exact_list_are_refused(tree, refused, tmp_path):
    """Defaults skops trusts, allowed types under calling loaders and object arrays are all refused."""
    file = write_skops(tmp_path / "m.skops", tree)
    with pytest.raises(RefusedFile, match="allow-list") as err:
        load_allowed(file.read_bytes())
    assert refused in str(err.value)


def test_a_hidden_node_under_any_key_is_found(saved_models, tmp_path):
    """A node tucked under a key skops never reads as a child is still checked (the walk sees all)."""
    file = tmp_path / "m.skops"
    file.write_bytes((saved_models["isolation_forest"] / "model_.skops").read_bytes())
    edit_schema(file, lambda s: s.update(extra={"x": [node("FunctionNode", "os", "system")]}))
    assert refused_nodes(_schema(file)) == ["FunctionNode(os.system)"]


def test_other_protocols_are_refused(saved_models):
    """A schema from another skops protocol is refused: older protocols rebuild nodes with other code."""
    schema = _schema(saved_models["isolation_forest"] / "model_.skops")
    assert refused_nodes(schema) == []
    assert refused_nodes({**schema, "protocol": 1}) == ["protocol(1)"]
    assert refused_nodes({**schema, "protocol": True}) == ["protocol(True)"]


@pytest.mark.parametrize("data", [b"not a zip", b"", b"PK\x03\x04 truncated"])
def test_files_that_are_not_skops_are_refused(data):
    """Bytes that are no zip with a schema.json raise RefusedFile, not BadZipFile."""
    with pytest.raises(RefusedFile, match="not a skops file"):
        read_schema(data)


def test_allow_list_is_exactly_what_the_projects_models_use(saved_models):
    """Every pair on ALLOWED_NODES is used by a registered detector or a pretrained model, and no
    model needs a pair that is missing: the list is neither short nor padded."""
    files = [f for folder in saved_models.values() for f in folder.rglob("*.skops")]
    files += list((REPO / "models" / "pretrained").rglob("*.skops"))
    used = set().union(*(schema_nodes(_schema(f)) for f in files))
    assert used == ALLOWED_NODES


def test_our_own_models_load_and_score_identically(saved_models, frame):
    """A model saved by the project loads through the exact allow-list and scores the same."""
    for name in ("isolation_forest", "lof", "ocsvm"):
        folder = saved_models[name]
        back = load_detector(folder, REGISTRY)
        again = REGISTRY[name]().fit(frame)
        np.testing.assert_array_equal(back.score(frame), again.score(frame))
