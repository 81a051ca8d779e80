"""Tree SHAP of the Isolation Forest, for one reading (``explain_forest_point``) and overall
(``global_forest``).

``shap.TreeExplainer`` on the forest inside the detector's pipeline, over the detector's own feature
matrix (``core.detect.detectors._common.model_matrix``). TreeExplainer explains the forest's mean path
length ``E[h(x)]`` (how many splits isolate the point; few = anomalous). We flip its sign once, here,
so a positive contribution pushes *towards* anomalous, like every score in the app:
``model_output = base_value + values.sum() = -E[h(x)]`` and scikit-learn's
``score_samples(x) = -2 ** (model_output / c(max_samples))``.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
import pandas as pd

from core.detect.detectors._common import feature_rows
from core.detect.detectors.base import Detector
from core.explain.types import ExplainError, Explanation, GlobalExplanation, label_of

GLOBAL_SAMPLE = 1000  # tree SHAP costs about 9 ms a row for 200 trees of 512 samples


def _forest(detector: Detector):
    model = getattr(detector, "model_", None)
    if detector.name != "isolation_forest" or model is None:
        raise ExplainError("SHAP needs a fitted Isolation Forest (alone or inside the ensemble)")
    steps = getattr(model, "steps", None)
    if steps:  # Pipeline(StandardScaler, IsolationForest): scale with all but the last step
        return model[:-1], steps[-1][1]
    return None, model


def _forest_inputs(detector: Detector, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The detector's own feature rows (before its scaler) for ``frame``, and the scorable mask."""
    features = getattr(detector, "features", None)
    if callable(features):  # FeatureModelMixin.features: exactly the rows the model scores
        x = features(frame).to_numpy(dtype=float)
    else:
        x, _ = feature_rows(frame, detector.profile_, detector.country, detector.columns_)
    return x, np.isfinite(x).all(axis=1)


_SHAP_LOCK = threading.Lock()
_EXPLAINERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _fast_average_path_length(n_samples_leaf: np.ndarray) -> np.ndarray:
    """scikit-learn's ``_average_path_length`` without its input validation (same maths)."""
    n = np.asarray(n_samples_leaf, dtype=float)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def tree_explainer(forest):
    """``shap.TreeExplainer`` for a fitted IsolationForest, built about 10x faster.

    shap converts each tree by calling scikit-learn's private ``_average_path_length`` once per leaf,
    and each call validates its input (about 0.7 ms): 4-5 s for 200 trees. The same maths without the
    validation is swapped in for the duration of the build only.
    """
    import shap
    import sklearn.ensemble._iforest as iforest

    with _SHAP_LOCK:
        cached = _EXPLAINERS.get(forest)
        if cached is not None:  # one explainer per fitted forest, dropped with the forest
            return cached
        original = iforest._average_path_length
        iforest._average_path_length = _fast_average_path_length
        try:
            explainer = shap.TreeExplainer(forest)
        finally:
            iforest._average_path_length = original
        _EXPLAINERS[forest] = explainer
        return explainer


def explain_forest_point(
    detector: Detector, frame: pd.DataFrame, timestamp: pd.Timestamp
) -> Explanation:
    """SHAP of the Isolation Forest for the reading at ``timestamp``.

    Features are computed on the whole ``frame``, as when it was scored, so the explanation adds up
    to the score the pages show (some features look at the readings around a point).
    """
    scaler, forest = _forest(detector)
    if timestamp not in frame.index:
        raise ExplainError(f"no reading at {timestamp} in this dataset")
    pos = frame.index.get_loc(timestamp)
    x, ok = _forest_inputs(detector, frame)
    if not ok[pos]:
        raise ExplainError(f"the reading at {timestamp} is missing, so there is nothing to explain")
    row = x[pos : pos + 1]
    model_row = scaler.transform(row) if scaler is not None else row
    explainer = tree_explainer(forest)
    phi = np.asarray(explainer.shap_values(model_row))[0]
    base = float(np.ravel(explainer.expected_value)[0])
    names = tuple(detector.columns_)
    return Explanation(
        values=-phi,
        base_value=-base,
        feature_names=names,
        feature_labels=tuple(label_of(n) for n in names),
        data=row[0],
        model_output=float(-(base + phi.sum())),
        method="isolation_forest",
        output="isolation ease (− mean path length)",
        timestamp=timestamp,
        extra={"path_length_norm": _avg_path_length(forest)},
    )


def global_forest(
    detector: Detector, frame: pd.DataFrame, *, sample: int = GLOBAL_SAMPLE, seed: int = 0
) -> GlobalExplanation:
    """SHAP of the Isolation Forest for a seeded sample of at most ``sample`` scorable readings."""
    scaler, forest = _forest(detector)
    x, ok = _forest_inputs(detector, frame)
    rows = np.flatnonzero(ok)
    if rows.size == 0:
        raise ExplainError("no complete rows to explain in this dataset")
    if rows.size > sample:
        rows = np.sort(np.random.default_rng(seed).choice(rows, sample, replace=False))
    data = x[rows]
    explainer = tree_explainer(forest)
    phi = np.asarray(explainer.shap_values(scaler.transform(data) if scaler is not None else data))
    names = tuple(detector.columns_)
    return GlobalExplanation(
        values=-phi,
        data=data,
        index=frame.index[rows],
        base_value=-float(np.ravel(explainer.expected_value)[0]),
        feature_names=names,
        feature_labels=tuple(label_of(n) for n in names),
    )


def _avg_path_length(forest) -> float:
    """c(n): the mean path length of an unsuccessful BST search, scikit-learn's normaliser."""
    n = float(forest.max_samples_)
    if n <= 1:
        return 1.0
    if n == 2:
        return 1.0
    return 2.0 * (np.log(n - 1.0) + np.euler_gamma) - 2.0 * (n - 1.0) / n
