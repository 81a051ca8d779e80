"""What a skops file may hold: exactly the nodes the project's own scikit-learn models are made of.

skops rebuilds an object from the tree in the file's ``schema.json``. Each node names a loader (how
to rebuild) and a type (``__module__.__class__``, what to rebuild), and several loaders *call* the
type they name: ``ConstructorFromReduceNode`` calls it with arguments from the file, ``NdArrayNode``
calls it on an array, and ``DictNode`` calls its key types on the keys. Trusting a type by its
module prefix ("numpy.") therefore trusts ``numpy.load(..., allow_pickle=True)``, and skops' own
defaults trust every scikit-learn estimator and every numpy ufunc. So the tree is checked here
first, from the raw JSON, before skops builds a single node:

* every dict with a ``__loader__`` key, at any depth, must be one (loader, type) pair of
  ``ALLOWED_NODES``: nothing else, no prefixes;
* arrays must be numpy's own ``.npy`` format (read without pickle), never object arrays;
* the protocol must be one in ``PROTOCOLS``: older protocols rebuild nodes with other code.

``ALLOWED_NODES`` was collected by saving every registered detector that holds a scikit-learn
estimator (Isolation Forest, LOF, One-Class SVM, and the ensemble of them) with default and other
parameters on hourly, 15-minute and daily synthetic frames, plus every ``models/pretrained`` model,
and listing the pairs in their ``schema.json``; ``skops.io.get_untrusted_types`` on the same files
names only ``KDTree``, ``EuclideanDistance64`` and ``Tree``, the rest being skops defaults.
``tests/store/test_skops_trust.py`` fails when a detector needs a pair that is missing, or when a
pair is listed that no project model uses. A file passing the check is loaded from the same bytes
that were checked, trusting exactly the types it holds.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

ALLOWED_NODES: frozenset[tuple[str, str]] = frozenset(
    {
        # containers and plain JSON values
        ("DictNode", "builtins.dict"),
        ("ListNode", "builtins.list"),
        ("TupleNode", "builtins.tuple"),
        ("JsonNode", "builtins.str"),  # skops stores every JSON value as a "str" node
        ("TypeNode", "builtins.str"),  # the key type of a DictNode: str(key) is called
        # arrays (np.load with allow_pickle=False) and the float64 scalars (offset_)
        ("NdArrayNode", "numpy.ndarray"),
        ("NdArrayNode", "numpy.float64"),
        # the estimators: pipelines of a scaler and one outlier model
        ("ObjectNode", "sklearn.pipeline.Pipeline"),
        ("ObjectNode", "sklearn.preprocessing._data.StandardScaler"),
        ("ObjectNode", "sklearn.preprocessing._data.RobustScaler"),
        ("ObjectNode", "sklearn.ensemble._iforest.IsolationForest"),
        ("ObjectNode", "sklearn.tree._classes.ExtraTreeRegressor"),  # the forest's trees
        ("TreeNode", "sklearn.tree._tree.Tree"),  # their node arrays
        ("ObjectNode", "sklearn.neighbors._lof.LocalOutlierFactor"),
        ("ObjectNode", "sklearn.neighbors._kd_tree.KDTree"),  # LOF's neighbour index
        ("ObjectNode", "sklearn.metrics._dist_metrics.EuclideanDistance64"),  # the KDTree's metric
        ("ObjectNode", "sklearn.svm._classes.OneClassSVM"),
        # the learned detector (issue 14): HistGradientBoostingClassifier and what it is made of
        (
            "ObjectNode",
            "sklearn.ensemble._hist_gradient_boosting.gradient_boosting."
            "HistGradientBoostingClassifier",
        ),
        ("ObjectNode", "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"),
        ("ObjectNode", "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper"),
        ("ObjectNode", "sklearn.preprocessing._label.LabelEncoder"),  # its classes_
        ("ObjectNode", "sklearn._loss.loss.HalfBinomialLoss"),  # its loss, rebuilt without args
        ("LossNode", "sklearn._loss._loss.CyHalfBinomialLoss"),
        ("ObjectNode", "sklearn._loss.link.LogitLink"),
        ("ObjectNode", "sklearn._loss.link.Interval"),
        ("RandomGeneratorNode", "numpy.random._generator.Generator"),  # _feature_subsample_rng
        ("NdArrayNode", "numpy.uint64"),  # its _random_seed
    }
)
PROTOCOLS: frozenset[int] = frozenset({2})  # what skops 0.16 writes (its _protocol.PROTOCOL)
SCHEMA_FILE = "schema.json"


class RefusedFile(ValueError):
    """A skops file that is not a zip with a schema, or that holds a node off ``ALLOWED_NODES``."""


def load_allowed(data: bytes) -> Any:
    """The object saved in the skops file ``data``; ``RefusedFile`` unless every node is allowed."""
    import skops.io

    schema = read_schema(data)
    refused = refused_nodes(schema)
    if refused:
        raise RefusedFile(f"needs nodes outside the allow-list: {', '.join(refused)}")
    trusted = sorted({type_name for _, type_name in schema_nodes(schema)})
    return skops.io.loads(data, trusted=trusted)


def read_schema(data: bytes) -> dict[str, Any]:
    """The parsed ``schema.json`` of a skops file (``RefusedFile`` when there is none)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read(SCHEMA_FILE))
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError) as err:
        raise RefusedFile(f"not a skops file ({type(err).__name__}: {err})") from err
    if not isinstance(schema, dict):
        raise RefusedFile(f"{SCHEMA_FILE} is not a JSON object")
    return schema


def refused_nodes(schema: dict[str, Any]) -> list[str]:
    """``loader(type)`` for every node of ``schema`` that may not be loaded, sorted; empty when safe."""
    protocol = schema.get("protocol")
    refused = set()
    if isinstance(protocol, bool) or protocol not in PROTOCOLS:
        refused.add(f"protocol({protocol!r})")
    for node in _nodes(schema):
        pair = _pair(node)
        if pair not in ALLOWED_NODES:
            refused.add(f"{pair[0]}({pair[1]})")
        elif pair[0] == "NdArrayNode" and node.get("type") != "numpy":
            refused.add(f"NdArrayNode({pair[1]}, type={node.get('type')!r})")
    return sorted(refused)


def schema_nodes(schema: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (loader, type) pair in ``schema``: what ``ALLOWED_NODES`` is checked against."""
    return {_pair(node) for node in _nodes(schema)}


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every dict with a ``__loader__`` key, however deep and under whatever key (skops nests nodes
    under content, attrs, args, key_types, ...); walking all of them leaves no place to hide one."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__loader__" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _pair(node: dict[str, Any]) -> tuple[str, str]:
    loader, module, cls = node.get("__loader__"), node.get("__module__"), node.get("__class__")
    if not all(isinstance(x, str) for x in (loader, module, cls)):
        return (repr(loader), f"{module!r}.{cls!r}")  # never a str pair, so never allowed
    return (loader, f"{module}.{cls}")
