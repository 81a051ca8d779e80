"""SHAP of the LSTM forecast for one reading (``explain_lstm_point``).

``shap.GradientExplainer`` (expected gradients) on the Keras model over its two inputs, the history
window and the calendar row, against a seeded background of training windows; falls back to a
sampled ``KernelExplainer`` when the gradient explainer cannot run. It explains the *forecast* (in the
data unit): one value per input position (each lag, each calendar input). Expected gradients are
additive only approximately; ``model_output`` is the network's real forecast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.detect.detectors.base import Detector
from core.detect.features import step_of
from core.explain.types import ExplainError, Explanation, label_of

_CAL_NAMES = ("hour_sin", "hour_cos", "weekday_sin", "weekday_cos", "holiday")  # older models
# context inputs that are readings, scaled like the window (``LSTMDetector.input_names_``)
_READING_INPUTS = frozenset(
    {"same_time_yesterday", "same_time_last_week", "usual_for_time_of_week"}
)


def explain_lstm_point(
    detector: Detector,
    frame: pd.DataFrame,
    timestamp: pd.Timestamp,
    *,
    background: int = 64,
    nsamples: int = 200,
    seed: int = 0,
) -> Explanation:
    """SHAP of the LSTM forecast for ``timestamp``: one value per lag and per calendar input."""
    if detector.name != "lstm" or getattr(detector, "model_", None) is None:
        raise ExplainError("LSTM explanations need a fitted LSTM (alone or inside the ensemble)")
    w = int(detector.window_)
    upto = frame.loc[:timestamp]
    pos = len(upto) - 1
    if pos < w or upto.index[-1] != timestamp:
        raise ExplainError(f"the LSTM needs {w} readings before {timestamp} to forecast it")
    seq, exog = detector._inputs(upto)
    x = [seq[pos - w][None], exog[pos][None]]
    rng = np.random.default_rng(seed)
    rows = np.arange(w, len(upto))
    rows = rng.choice(rows, min(background, rows.size), replace=False)
    bg = [seq[rows - w], exog[rows]]
    scale = float(detector.value_scale_)
    try:
        phi_seq, phi_exog, base = _gradient_shap(detector.model_, bg, x, nsamples, seed)
        how = "GradientExplainer"
    except Exception:  # any shap/keras incompatibility: the model-agnostic fallback
        phi_seq, phi_exog, base = _kernel_shap(detector.model_, bg, x, w, nsamples, seed)
        how = "KernelExplainer"
    step = step_of(frame.index)  # not the detector's step_seconds_: pandas 3 indexes may be in µs
    lag_names = tuple(f"lag_{k}" for k in range(w, 0, -1))
    lag_labels = tuple(f"reading {_span(step * k)} before" for k in range(w, 0, -1))
    cal = tuple(getattr(detector, "input_names_", ())) or (
        _CAL_NAMES[: exog.shape[1]] + (("temperature",) if exog.shape[1] > 5 else ())
    )
    pred = float(np.asarray(detector.model_(x, training=False))[0, 0])
    values = np.concatenate([phi_seq, phi_exog]) * scale
    data_seq = seq[pos - w][:, 0] * scale + detector.value_center_
    data_exog = exog[pos].astype(float).copy()
    readings = [i for i, c in enumerate(cal) if c in _READING_INPUTS]
    data_exog[readings] = data_exog[readings] * scale + detector.value_center_  # back in units
    return Explanation(
        values=values,
        base_value=base * scale + detector.value_center_,
        feature_names=lag_names + cal,
        feature_labels=lag_labels + tuple(label_of(c) for c in cal),
        data=np.concatenate([data_seq, data_exog]),
        model_output=pred * scale + detector.value_center_,
        method="lstm",
        output="forecast",
        timestamp=timestamp,
        extra={"explainer": how, "window": w},
    )


def _gradient_shap(model, bg, x, nsamples: int, seed: int):
    import shap

    explainer = shap.GradientExplainer(model, bg)
    sv = explainer.shap_values(x, nsamples=nsamples, rseed=seed)
    phi_seq = np.asarray(sv[0]).reshape(-1)[: x[0].shape[1]]
    phi_exog = np.asarray(sv[1]).reshape(-1)[: x[1].shape[1]]
    base = float(np.mean(np.asarray(model(bg, training=False))))
    return phi_seq, phi_exog, base


def _kernel_shap(model, bg, x, w: int, nsamples: int, seed: int):
    import shap

    def f(flat: np.ndarray) -> np.ndarray:
        flat = np.asarray(flat, dtype="float32")
        return np.asarray(model([flat[:, :w, None], flat[:, w:]], training=False))[:, 0]

    flat_bg = np.hstack([bg[0][:, :, 0], bg[1]])
    flat_x = np.hstack([x[0][:, :, 0], x[1]])
    summary = shap.sample(flat_bg, min(16, len(flat_bg)), random_state=seed)
    explainer = shap.KernelExplainer(f, summary)
    phi = np.asarray(explainer.shap_values(flat_x, nsamples=nsamples, silent=True)).reshape(-1)
    return phi[:w], phi[w:], float(np.ravel(explainer.expected_value)[0])


def _span(td: pd.Timedelta) -> str:
    minutes = int(td.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        d = minutes // (24 * 60)
        return f"{d} day" + ("" if d == 1 else "s")
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"
