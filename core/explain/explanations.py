"""Why was this point flagged? SHAP values and model components as plain data, plus one sentence.

Three explainers, one result type (:class:`Explanation`: contributions, base value, names, readable
labels, the row's inputs, the model output):

Isolation Forest (``explain_forest_point``, ``global_forest``)
    ``shap.TreeExplainer`` on the forest inside the detector's pipeline, over the detector's own
    feature matrix (``core.detect.detectors._common.model_matrix``). TreeExplainer explains the forest's mean
    path length ``E[h(x)]`` (how many splits isolate the point; few = anomalous). We flip its sign once,
    here, so a positive contribution pushes *towards* anomalous, like every score in the app:
    ``model_output = base_value + values.sum() = -E[h(x)]`` and scikit-learn's
    ``score_samples(x) = -2 ** (model_output / c(max_samples))``.
LSTM (``explain_lstm_point``)
    ``shap.GradientExplainer`` (expected gradients) on the Keras model over its two inputs, the
    history window and the calendar row, against a seeded background of training windows; falls back
    to a sampled ``KernelExplainer`` when the gradient explainer cannot run. It explains the *forecast*
    (in the data unit): one value per input position (each lag, each calendar input). Expected
    gradients are additive only approximately; ``model_output`` is the network's real forecast.
Prophet (``explain_prophet_point``)
    No SHAP: Prophet is additive already. Base value = trend; values = daily, weekly, yearly,
    holidays, temperature (whichever the model has); ``model_output`` = the forecast ``yhat``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.detect.detectors._common import EXTRA_LABELS, feature_rows
from core.detect.detectors.base import Detector
from core.detect.features import FEATURE_LABELS, step_of

GLOBAL_SAMPLE = 1000  # tree SHAP costs about 9 ms a row for 200 trees of 512 samples
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
LABELS: dict[str, str] = {
    **FEATURE_LABELS,
    **EXTRA_LABELS,
    "weekend": "weekend",
    "weekday_sin": "day of week",
    "weekday_cos": "day of week",
    "trend": "long-term trend",
    "daily": "daily pattern",
    "daily_weekday": "working-day daily pattern",
    "daily_weekend": "weekend daily pattern",
    "weekly": "weekly pattern",
    "yearly": "time of year",
    "holidays": "public holiday",
}
EXPLAINERS: dict[str, str] = {
    "isolation_forest": "Isolation Forest (SHAP)",
    "lstm": "LSTM (SHAP)",
    "prophet": "Prophet components",
}


class ExplainError(ValueError):
    """This detector or point cannot be explained this way; ``str(err)`` says what to do."""


@dataclass(frozen=True)
class Explanation:
    """Additive contributions for one point: ``model_output ≈ base_value + values.sum()``."""

    values: np.ndarray
    base_value: float
    feature_names: tuple[str, ...]
    feature_labels: tuple[str, ...]
    data: np.ndarray  # the point's input per feature, in readable units
    model_output: float
    method: str  # a key of EXPLAINERS
    output: str  # what the numbers are in, for axis titles
    timestamp: pd.Timestamp | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def by_label(self) -> pd.DataFrame:
        """Contributions summed per readable label (``hour_sin`` + ``hour_cos`` -> "hour of day"),
        largest absolute first: columns ``label, value``."""
        df = pd.DataFrame({"label": self.feature_labels, "value": self.values})
        out = df.groupby("label", sort=False, as_index=False)["value"].sum()
        return out.reindex(out["value"].abs().sort_values(ascending=False).index).reset_index(
            drop=True
        )

    def top(self, n: int = 2) -> pd.DataFrame:
        """The ``n`` labels that mattered most: for Isolation Forest those that pushed towards
        anomalous (by absolute size when none did); for a forecast, the largest either way."""
        g = self.by_label()
        if self.method != "isolation_forest":
            return g.head(n).reset_index(drop=True)
        up = g[g["value"] > 0].sort_values("value", ascending=False)
        return (up if len(up) else g).head(n).reset_index(drop=True)


@dataclass(frozen=True)
class GlobalExplanation:
    """SHAP values of a seeded sample of points: the bar chart and the beeswarm read this."""

    values: np.ndarray  # (n, features)
    data: np.ndarray  # (n, features), the inputs
    index: pd.DatetimeIndex
    base_value: float
    feature_names: tuple[str, ...]
    feature_labels: tuple[str, ...]

    def importance(self) -> pd.DataFrame:
        """Mean |SHAP| per feature, largest first: columns ``feature, label, mean_abs``."""
        out = pd.DataFrame(
            {
                "feature": self.feature_names,
                "label": self.feature_labels,
                "mean_abs": np.abs(self.values).mean(axis=0),
            }
        )
        return out.sort_values("mean_abs", ascending=False).reset_index(drop=True)


# ---- which detector explains ------------------------------------------------------------------
def member(detector: Detector, name: str) -> Detector | None:
    """``detector`` itself when it is ``name``, else its ensemble member of that name, else None."""
    if detector.name == name:
        return detector
    members = getattr(detector, "members_", None) or {}
    return members.get(name)


def explaining_settings(settings: Any, method: str) -> Any:
    """The detector settings whose fit can explain with ``method``: the current ones when that
    detector is, or contains, ``method``; else ``method`` alone with default parameters."""
    from core.detect.pipeline import DetectorSettings

    if settings.detector == method:
        return settings
    if settings.detector == "ensemble":
        from core.detect.detectors.ensemble import DEFAULT_MEMBERS

        if method in tuple(dict(settings.params).get("members", DEFAULT_MEMBERS)):
            return settings
    return DetectorSettings(detector=method)


def explain_point(
    detector: Detector, frame: pd.DataFrame, timestamp: pd.Timestamp, method: str
) -> Explanation:
    """Explain the reading at ``timestamp`` with ``method`` (a key of ``EXPLAINERS``), using
    ``detector`` itself or its ensemble member of that name."""
    found = member(detector, method)
    if found is None:
        raise ExplainError(f"{detector.title or detector.name} has no {EXPLAINERS[method]} part")
    explain = {
        "isolation_forest": explain_forest_point,
        "lstm": explain_lstm_point,
        "prophet": explain_prophet_point,
    }[method]
    return explain(found, frame, pd.Timestamp(timestamp))


def label_of(name: str) -> str:
    return LABELS.get(name, name.replace("_", " "))


# ---- Isolation Forest ---------------------------------------------------------------------------
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


# ---- LSTM ---------------------------------------------------------------------------------------
_CAL_NAMES = ("hour_sin", "hour_cos", "weekday_sin", "weekday_cos", "holiday")


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
    cal = _CAL_NAMES[: exog.shape[1]] + (("temperature",) if exog.shape[1] > 5 else ())
    pred = float(np.asarray(detector.model_(x, training=False))[0, 0])
    values = np.concatenate([phi_seq, phi_exog]) * scale
    data_seq = seq[pos - w][:, 0] * scale + detector.value_center_
    return Explanation(
        values=values,
        base_value=base * scale + detector.value_center_,
        feature_names=lag_names + cal,
        feature_labels=lag_labels + tuple(label_of(c) for c in cal),
        data=np.concatenate([data_seq, exog[pos]]),
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


# ---- Prophet ------------------------------------------------------------------------------------
def explain_prophet_point(
    detector: Detector, frame: pd.DataFrame, timestamp: pd.Timestamp
) -> Explanation:
    """Prophet's own decomposition of the expected reading at ``timestamp``: the trend as the base,
    then each seasonal part, holidays and temperature (whichever the model has)."""
    model = getattr(detector, "model_", None)
    if detector.name != "prophet" or model is None:
        raise ExplainError("component views need a fitted Prophet (alone or inside the ensemble)")
    if timestamp not in frame.index:
        raise ExplainError(f"no reading at {timestamp} in this dataset")
    prediction = detector.predict(frame.loc[[timestamp]])
    parts = detector.components(prediction).iloc[0]
    names = [c for c in parts.index if c != "trend"]
    values = np.array([float(parts[c]) for c in names])
    data = np.array(
        [float(frame.at[timestamp, c]) if c in frame.columns else np.nan for c in names]
    )
    return Explanation(
        values=values,
        base_value=float(parts["trend"]),
        feature_names=tuple(names),
        feature_labels=tuple(label_of(n) for n in names),
        data=data,
        model_output=float(prediction["yhat"].iloc[0]),
        method="prophet",
        output="forecast",
        timestamp=timestamp,
        extra={"multiplicative": getattr(model, "seasonality_mode", "additive") != "additive"},
    )


# ---- sentence -----------------------------------------------------------------------------------
def explanation_sentence(point: Mapping[str, Any], explanation: Explanation) -> str:
    """One plain sentence: what happened at the point, then its top contributors by readable label.

    ``point`` needs ``time`` (or ``start``), ``value`` (or ``actual``) and ``expected``; ``type``
    (an event type from ``core.detect.events``) is optional.
    """
    ts = pd.Timestamp(point.get("time", point.get("start", explanation.timestamp)))
    value = float(point.get("value", point.get("actual", np.nan)))
    expected = float(point.get("expected", np.nan))
    kind = str(point.get("type", "") or "")
    lead = _lead(ts, value, expected, kind)
    top = explanation.top(2)
    parts = [f"the {r.label} ({_signed(r.value)})" for r in top.itertuples()]
    drivers = " and ".join(parts)
    if explanation.method == "isolation_forest":
        tail = f"the biggest contributors were {drivers}"
    elif explanation.method == "lstm":
        tail = (
            f"the LSTM forecast {explanation.model_output:,.1f}, driven most by {drivers}"
            if parts
            else "the LSTM forecast it from the recent readings"
        )
    else:
        tail = (
            f"Prophet expected {explanation.model_output:,.1f} from a trend of "
            f"{explanation.base_value:,.1f}, moved most by {drivers}"
        )
    return f"{lead}; {tail}."


def _signed(v: float) -> str:
    """+1.8, -0.15, +1,234: two significant digits for small numbers, whole units for big ones."""
    return f"{v:+,.0f}" if abs(v) >= 10 else f"{v:+.2g}"


def _lead(ts: pd.Timestamp, value: float, expected: float, kind: str) -> str:
    when = f"{ts:%H:%M} on {_DAYS[ts.dayofweek]}"
    period = _period(ts)
    if kind == "drop_to_zero" or (value == 0 and expected > 0):
        return f"Consumption at {when} dropped to zero while about {expected:,.1f} was expected"
    if kind == "flat":
        return f"The meter at {when} was stuck at {value:,.1f}"
    if np.isfinite(value) and np.isfinite(expected) and expected > 0:
        r = value / expected
        how = (
            f"{r:.1f}× the usual {period} load"
            if r >= 1.5
            else (f"{100 * r:.0f} % of the usual {period} load")
        )
        return f"Consumption at {when} was {how} ({value:,.1f} against {expected:,.1f} expected)"
    if np.isfinite(value):
        return f"Consumption at {when} was {value:,.1f}"
    return f"The reading at {when} stood out"


def _period(ts: pd.Timestamp) -> str:
    h = ts.hour
    if h >= 22 or h < 6:
        return "night"
    return "morning" if h < 12 else ("afternoon" if h < 18 else "evening")


def peak_time(scored: pd.DataFrame, start: Any, end: Any) -> pd.Timestamp:
    """The most anomalous reading of an event (highest score between ``start`` and ``end``)."""
    part = scored.loc[pd.Timestamp(start) : pd.Timestamp(end), "score"]
    if part.notna().any():
        return pd.Timestamp(part.idxmax())
    return pd.Timestamp(start)
