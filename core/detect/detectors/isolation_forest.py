"""Isolation Forest on the engineered features: points that are easy to isolate are unusual."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.ensemble._iforest import _average_path_length
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from core.detect.detectors._common import FeatureModelMixin
from core.detect.detectors.base import Detector, register


@register
class IsolationForestDetector(FeatureModelMixin, Detector):
    """Isolation Forest (scikit-learn) on ``model_matrix`` features, standard-scaled.

    The raw score is the negated ``score_samples`` (higher = more anomalous). ``contamination`` only
    sets the forest's own offset (its ``predict``), which nothing here reads: the app's threshold works
    on the calibrated score. Its default ``"auto"`` keeps ``fit`` from scoring the whole training set
    once more to place that offset (a number such as 0.01 does: about a fifth of a year's fit, the
    same scores either way).
    """

    name = "isolation_forest"
    title = "Isolation Forest"

    def __init__(
        self,
        n_estimators: int = 100,
        contamination: float | str = "auto",
        max_samples: int | str = 512,
        country: str | None = None,
        causal: bool = False,
        max_train: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.contamination = contamination
        self.max_samples = max_samples
        self.country = country
        self.causal = causal
        self.max_train = max_train
        self.random_state = random_state

    def _estimator(self, n_rows: int) -> Pipeline:
        forest = IsolationForest(
            n_estimators=self.n_estimators,
            contamination=self.contamination,
            max_samples=min(self.max_samples, n_rows)
            if isinstance(self.max_samples, int)
            else self.max_samples,
            random_state=self.random_state,
            n_jobs=1,
        )
        return make_pipeline(StandardScaler(), forest)

    @staticmethod
    def _raw(model: Pipeline, x: np.ndarray) -> np.ndarray:
        scaled = model[:-1].transform(x)
        forest = model[-1]
        if not all(hasattr(forest, a) for a in _FOREST_PARTS):
            return -forest.score_samples(scaled)  # sklearn: lower = more abnormal; flipped here
        return -_forest_scores(forest, scaled)


# What ``_forest_scores`` reads of a fitted forest (scikit-learn 1.4 to 1.9 keep them); a forest
# without them is scored by ``score_samples`` itself.
_FOREST_PARTS = (
    "estimators_",
    "estimators_features_",
    "_decision_path_lengths",
    "_average_path_length_per_tree",
    "_max_features",
    "_max_samples",
)


def _forest_scores(forest: IsolationForest, x: np.ndarray) -> np.ndarray:
    """``forest.score_samples(x)``, number for number, without its per-tree joblib dispatch.

    scikit-learn sends each of the forest's trees through ``joblib.Parallel`` (about 0.1 ms a
    tree, whatever the rows): for the few hundred rows a live or ``/detect/last`` reading needs,
    that is most of the scoring time. The same sums, in the same tree order, straight through the
    trees' own ``apply`` (tests/detect/test_isolation_forest_scores.py pins the equality).
    """
    rows = np.ascontiguousarray(x, dtype=np.float32)
    subsample = forest._max_features != rows.shape[1]
    depths = np.zeros(rows.shape[0], order="f")
    for tree, features, path, average in zip(
        forest.estimators_,
        forest.estimators_features_,
        forest._decision_path_lengths,
        forest._average_path_length_per_tree,
        strict=True,
    ):
        leaves = tree.tree_.apply(np.ascontiguousarray(rows[:, features]) if subsample else rows)
        depths += path[leaves] + average[leaves] - 1.0
    denominator = len(forest.estimators_) * _average_path_length([forest._max_samples])
    return -(2 ** -np.divide(depths, denominator, out=np.ones_like(depths), where=denominator != 0))
