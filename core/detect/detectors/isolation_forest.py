"""Isolation Forest on the engineered features: points that are easy to isolate are unusual."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from core.detect.detectors._common import FeatureModelMixin
from core.detect.detectors.base import Detector, register


@register
class IsolationForestDetector(FeatureModelMixin, Detector):
    """Isolation Forest (scikit-learn) on ``model_matrix`` features, standard-scaled.

    The raw score is the negated ``score_samples`` (higher = more anomalous); ``contamination`` only
    sets the forest's own offset and never the app's threshold.
    """

    name = "isolation_forest"
    title = "Isolation Forest"

    def __init__(
        self,
        n_estimators: int = 100,
        contamination: float = 0.01,
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
        return -model.score_samples(x)  # scikit-learn: lower = more abnormal; flipped once, here
