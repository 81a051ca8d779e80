"""Local Outlier Factor on the engineered features: points in sparse neighbourhoods are unusual."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import RobustScaler

from core.detect.detectors._common import FeatureModelMixin
from core.detect.detectors.base import Detector, register


@register
class LOFDetector(FeatureModelMixin, Detector):
    """LOF (``novelty=True``) on ``model_matrix`` features, robust-scaled.

    Training rows are subsampled to ``max_train`` to bound the neighbour search. Many neighbours
    (150) on purpose: meter anomalies come in runs (a day at zero is 24 similar rows), and a run
    smaller than the neighbourhood cannot pass itself off as a dense, normal cluster.
    """

    name = "lof"
    title = "Local Outlier Factor"

    def __init__(
        self,
        n_neighbors: int = 150,
        country: str | None = None,
        causal: bool = False,
        max_train: int | None = 2000,
        random_state: int = 0,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.country = country
        self.causal = causal
        self.max_train = max_train
        self.random_state = random_state

    def _estimator(self, n_rows: int) -> Pipeline:
        lof = LocalOutlierFactor(n_neighbors=min(self.n_neighbors, n_rows - 1), novelty=True)
        return make_pipeline(RobustScaler(quantile_range=(5.0, 95.0)), lof)

    @staticmethod
    def _raw(model: Pipeline, x: np.ndarray) -> np.ndarray:
        return -model.score_samples(x)  # negative LOF: lower = more abnormal; flipped here
