"""One-Class SVM on the engineered features: points outside the learned support are unusual."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import RobustScaler
from sklearn.svm import OneClassSVM

from core.detect.detectors._common import FeatureModelMixin
from core.detect.detectors.base import Detector, register


@register
class OneClassSVMDetector(FeatureModelMixin, Detector):
    """One-Class SVM (RBF kernel) on ``model_matrix`` features, robust-scaled.

    Training rows are subsampled to ``max_train`` (kernel fits grow quadratically).
    """

    name = "ocsvm"
    title = "One-Class SVM"

    def __init__(
        self,
        nu: float = 0.05,
        gamma: str | float = "scale",
        country: str | None = None,
        causal: bool = False,
        max_train: int | None = 3000,
        random_state: int = 0,
    ) -> None:
        self.nu = nu
        self.gamma = gamma
        self.country = country
        self.causal = causal
        self.max_train = max_train
        self.random_state = random_state

    def _estimator(self, n_rows: int) -> Pipeline:
        svm = OneClassSVM(nu=self.nu, gamma=self.gamma)
        return make_pipeline(RobustScaler(quantile_range=(5.0, 95.0)), svm)

    @staticmethod
    def _raw(model: Pipeline, x: np.ndarray) -> np.ndarray:
        return -model.decision_function(x)  # scikit-learn: negative outside; flipped here
