import numpy as np
import pandas as pd

from core.detect.detectors.base import _calibration_table, calibrate


def test_calibration_maps_training_tail_to_sigma_scale():
    """About 1 % of training scores land above 2.33 on the calibrated scale."""
    rng = np.random.default_rng(0)
    raw = pd.Series(rng.exponential(size=20_000))
    z = calibrate(raw, _calibration_table(raw.to_numpy()))
    assert abs((z > 2.33).mean() - 0.01) < 0.003
    assert z.isna().sum() == 0


def test_calibration_keeps_ranking_above_training_max():
    """Scores beyond anything seen in training stay ranked, not clipped."""
    raw = pd.Series(np.arange(1000, dtype=float))
    table = _calibration_table(raw.to_numpy())
    z = calibrate(pd.Series([999.0, 2000.0, 5000.0, np.nan]), table)
    assert z.iloc[0] < z.iloc[1] < z.iloc[2]
    assert np.isnan(z.iloc[3])


def test_calibration_of_tied_scores_uses_the_middle_of_the_tie():
    """A score that is mostly one repeated value (a rule that rarely fires) maps that value to the middle."""
    raw = pd.Series(np.r_[np.zeros(990), np.arange(1, 11, dtype=float)])
    z = calibrate(raw, _calibration_table(raw.to_numpy()))
    assert abs(z.iloc[0]) < 0.1
    assert (z > 2.0).sum() <= 12
