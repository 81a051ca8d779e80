"""Forecasts with intervals (Prophet, LSTM, seasonal naive) and a hold-out backtest. No streamlit.

Every forecaster returns a :class:`Forecast`: the fitted period (actual vs expected with a band),
the horizon (expected with a band), the additive components where the model has them, and notes a
person should read (for instance that future temperature was filled from the recent climatology).

Consumption is never forecast below zero: when a meter's history never reads below zero, every
forecast's expected value and band are floored at zero (``floored``; a Prophet band on a building
that idles at 50 kW otherwise reached -200 kW). A meter that exports (negative readings) keeps its
band as the model gives it. ``MODEL_NAMES`` are the names a person reads; ``trusted_model`` reads a
backtest and says which forecaster to trust for this meter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.detect.detectors.base import NotFittedError, Progress
from core.detect.detectors.lstm import LSTMDetector
from core.detect.detectors.prophet import ProphetDetector

MODEL_NAMES = {
    "prophet": "Prophet (trend + seasons)",
    "lstm": "LSTM neural network",
    "seasonal_naive": "Same hour last week",
}
CLIMATOLOGY_DAYS = 28  # future temperature = mean of the same clock time over the last 4 weeks
BAND_QUANTILES = (0.025, 0.975)  # seasonal-naive band: 95 % of its in-sample errors


@dataclass
class Forecast:
    """A forecast and the fit that produced it.

    ``history``: ``actual, expected, lower, upper`` on the fitted period. ``future``: ``expected,
    lower, upper`` on the ``horizon`` steps after it. ``components``: one column per additive part the
    model has (trend, daily, weekly, yearly, holidays, regressors), on history + future; empty columns
    for models without components. ``model``: which forecaster. ``notes``: caveats for the reader.
    """

    history: pd.DataFrame
    future: pd.DataFrame
    components: pd.DataFrame
    model: str
    notes: list[str] = field(default_factory=list)


# ---- helpers ------------------------------------------------------------------------------------
def grid_step(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The frame's step: its declared frequency, else the median spacing."""
    if index.freq is not None:
        return pd.Timedelta(index.freq)
    return pd.Timedelta(int(np.median(np.diff(index.as_unit("ns").asi8))), "ns")


def future_index(index: pd.DatetimeIndex, horizon_steps: int) -> pd.DatetimeIndex:
    """The ``horizon_steps`` timestamps right after ``index``, on the same grid and time zone."""
    if horizon_steps < 1:
        raise ValueError(f"horizon must be at least one step, got {horizon_steps}")
    step = grid_step(index)
    out = pd.date_range(index[-1] + step, periods=horizon_steps, freq=step)
    out.name = index.name
    return out


def temperature_climatology(
    frame: pd.DataFrame, index: pd.DatetimeIndex, days: int = CLIMATOLOGY_DAYS
) -> np.ndarray:
    """Future temperature: the mean at the same clock time over the last ``days`` of history."""
    temp = frame["temperature"].astype(float)
    recent = temp[temp.index > temp.index[-1] - pd.Timedelta(days=days)]
    clock = recent.index.hour * 60 + recent.index.minute
    profile = recent.groupby(clock).mean()
    future = pd.Series(index.hour * 60 + index.minute).map(profile).to_numpy(dtype=float)
    fallback = float(recent.mean()) if recent.notna().any() else float(temp.mean())
    return np.where(np.isfinite(future), future, fallback)


def _history(frame: pd.DataFrame, expected: pd.DataFrame) -> pd.DataFrame:
    out = expected[["expected", "lower", "upper"]].copy()
    out.insert(0, "actual", frame["value"].astype(float).to_numpy())
    out.index = frame.index
    return out


def _empty_components(history: pd.DataFrame, future: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(index=history.index.append(future.index))


def _future_frame(
    frame: pd.DataFrame, horizon_steps: int, temperature: bool
) -> tuple[pd.DataFrame, list[str]]:
    idx = future_index(frame.index, horizon_steps)
    fut = pd.DataFrame({"value": np.nan}, index=idx)
    notes: list[str] = []
    if temperature:
        fut["temperature"] = temperature_climatology(frame, idx)
        notes.append(
            "Future temperature is not known: the horizon uses the mean temperature at the same "
            f"time of day over the last {CLIMATOLOGY_DAYS} days of history."
        )
    return fut, notes


def floored(forecast: Forecast, frame: pd.DataFrame) -> Forecast:
    """``forecast`` with expected, lower and upper at or above zero when ``frame`` never reads below
    zero (consumption); unchanged for a meter with negative readings (export, net metering)."""
    value = frame["value"].to_numpy(dtype=float)
    if np.nanmin(value, initial=0.0) < 0:
        return forecast
    for part in (forecast.history, forecast.future):
        cols = [c for c in ("expected", "lower", "upper") if c in part.columns]
        part[cols] = part[cols].clip(lower=0.0)
    return forecast


# ---- forecasters --------------------------------------------------------------------------------
def prophet_forecast(
    frame: pd.DataFrame,
    horizon_steps: int,
    *,
    country: str | None = None,
    use_temperature: bool = True,
    detector: ProphetDetector | None = None,
) -> Forecast:
    """Prophet forecast ``horizon_steps`` ahead, with Prophet's Monte Carlo interval.

    Pass a fitted ``detector`` to reuse its model (the app never fits twice); its own ``country``
    and temperature settings then apply and the two keyword arguments are ignored.
    """
    if detector is None:
        detector = ProphetDetector(country=country, use_temperature=use_temperature).fit(frame)
    elif not detector.is_fitted:
        raise NotFittedError("prophet_forecast needs a fitted ProphetDetector (or none)")
    fut, notes = _future_frame(frame, horizon_steps, detector.uses_temperature_)
    cols = ["value", "temperature"] if detector.uses_temperature_ else ["value"]
    full = pd.concat([frame[cols], fut[cols]])
    pred = detector.predict(full, samples=True)
    band = pred[["yhat", "yhat_lower", "yhat_upper"]].set_axis(
        ["expected", "lower", "upper"], axis=1
    )
    n = len(frame)
    forecast = Forecast(
        history=_history(frame, band.iloc[:n]),
        future=band.iloc[n:].copy(),
        components=detector.components(pred),
        model="prophet",
        notes=notes,
    )
    return floored(forecast, frame)


def lstm_forecast(detector: LSTMDetector, frame: pd.DataFrame, horizon_steps: int) -> Forecast:
    """Recursive LSTM forecast: each step's prediction is fed back as the newest reading.

    The band is the training-residual quantile band widened by ``sqrt(h)`` at ``h`` steps ahead.
    """
    if not detector.is_fitted:
        raise NotFittedError("lstm_forecast needs a fitted LSTMDetector")
    fut, notes = _future_frame(frame, horizon_steps, detector.uses_temperature_)
    temp = fut["temperature"].to_numpy() if detector.uses_temperature_ else None
    future = detector.forecast(frame, fut.index, temp)
    history = _history(frame, detector.expected(frame))
    notes.append(
        "Multi-step LSTM forecast: each prediction is fed back as input, so errors compound; the "
        "band widens with the square root of the steps ahead."
    )
    return floored(
        Forecast(history, future.copy(), _empty_components(history, future), "lstm", notes), frame
    )


def seasonal_period(frame: pd.DataFrame) -> int:
    """Steps in a week when there are two weeks of history, else in a day, else 1."""
    step = grid_step(frame.index)
    for span in (pd.Timedelta("7D"), pd.Timedelta("1D")):
        period = int(span / step)
        if period >= 1 and len(frame) >= 2 * period:
            return period
    return 1


def seasonal_naive_forecast(frame: pd.DataFrame, horizon_steps: int) -> Forecast:
    """Same time last week (or yesterday on short series), band from its in-sample errors.

    The band widens with ``sqrt(k)`` where ``k`` is how many seasons ahead a step is.
    """
    period = seasonal_period(frame)
    value = frame["value"].astype(float)
    expected = value.shift(period)
    resid = (value - expected).dropna()
    lo, hi = np.quantile(resid, BAND_QUANTILES) if len(resid) else (0.0, 0.0)
    history = pd.DataFrame(
        {"expected": expected, "lower": expected + lo, "upper": expected + hi}, index=frame.index
    )
    idx = future_index(frame.index, horizon_steps)
    last = value.interpolate(limit_direction="both").to_numpy()[-period:]
    h = np.arange(horizon_steps)
    yhat = last[h % period]
    widen = np.sqrt(h // period + 1)
    future = pd.DataFrame(
        {"expected": yhat, "lower": yhat + lo * widen, "upper": yhat + hi * widen}, index=idx
    )
    history = _history(frame, history)
    notes = [f"Seasonal naive: each step repeats the reading {period} steps earlier."]
    forecast = Forecast(
        history, future, _empty_components(history, future), "seasonal_naive", notes
    )
    return floored(forecast, frame)


# ---- backtest -----------------------------------------------------------------------------------
def forecast_errors(actual: pd.Series, expected: pd.Series) -> dict[str, float]:
    """MAE, MAPE (%) and RMSE where both are known. MAPE ignores zero actuals (it is undefined)."""
    a = actual.to_numpy(dtype=float)
    e = expected.to_numpy(dtype=float)
    ok = np.isfinite(a) & np.isfinite(e)
    err = a[ok] - e[ok]
    nz = a[ok] != 0
    return {
        "mae": float(np.mean(np.abs(err))) if err.size else math.nan,
        "mape": float(np.mean(np.abs(err[nz] / a[ok][nz])) * 100) if nz.any() else math.nan,
        "rmse": float(np.sqrt(np.mean(err**2))) if err.size else math.nan,
    }


def backtest(
    frame: pd.DataFrame,
    *,
    weeks: int = 2,
    models: Sequence[str] = ("prophet", "lstm", "seasonal_naive"),
    lstm_params: dict | None = None,
    country: str | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Hold out the last ``weeks`` weeks, fit each model on the data before, forecast them.

    Returns one row per model with ``model, mae, mape, rmse`` (MAPE in %, over non-zero actuals
    only). Temperature for the held-out weeks is the climatology, as in a real forecast.
    """
    step = grid_step(frame.index)
    n_test = int(pd.Timedelta(weeks * 7, "D") / step)
    if n_test < 1 or len(frame) - n_test < 2 * LSTMDetector.min_points:
        raise ValueError(
            f"a {weeks}-week backtest needs more history: {len(frame)} points, {n_test} held out"
        )
    train, test = frame.iloc[:-n_test], frame.iloc[-n_test:]
    rows = []
    for i, name in enumerate(models):
        done = i / len(models)
        if progress:
            progress(done, f"backtest: fitting {name}")
        forecast = _backtest_forecast(
            name, train, n_test, lstm_params, country, _scaled(progress, done, 1 / len(models))
        )
        rows.append({"model": name, **forecast_errors(test["value"], forecast.future["expected"])})
    if progress:
        progress(1.0, "backtest done")
    return pd.DataFrame(rows, columns=["model", "mae", "mape", "rmse"])


def trusted_model(table: pd.DataFrame, unit: str = "") -> tuple[str, str]:
    """From a ``backtest`` table: the model to trust for this meter (lowest MAE; RMSE breaks a
    tie) and one sentence saying so, against the runner-up and the same-hour-last-week baseline."""
    ok = table.dropna(subset=["mae"]).sort_values(["mae", "rmse"])
    if ok.empty:
        return "", "No model could be scored on the held-out weeks."
    best = ok.iloc[0]
    name = MODEL_NAMES.get(best["model"], best["model"])
    sentence = (
        f"Trust {name} for this meter: its typical error is {best['mae']:,.3g} {unit}".rstrip()
    )
    if len(ok) > 1:
        other = ok.iloc[1]
        gain = (1 - best["mae"] / other["mae"]) * 100 if other["mae"] > 0 else 0.0
        sentence += f", {gain:.0f} % below {MODEL_NAMES.get(other['model'], other['model'])}"
    sentence += " on the held-out weeks."
    if best["model"] == "seasonal_naive":
        sentence += (
            " The trained models do not beat repeating last week here: read their forecasts "
            "with care."
        )
    return str(best["model"]), sentence


def _backtest_forecast(
    name: str,
    train: pd.DataFrame,
    n_test: int,
    lstm_params: dict | None,
    country: str | None,
    progress: Progress | None,
) -> Forecast:
    if name == "prophet":
        return prophet_forecast(train, n_test, country=country)
    if name == "lstm":
        det = LSTMDetector(**{"country": country, **(lstm_params or {})})
        return lstm_forecast(det.fit(train, progress=progress), train, n_test)
    if name == "seasonal_naive":
        return seasonal_naive_forecast(train, n_test)
    raise ValueError(f"unknown forecaster {name!r}: use prophet, lstm or seasonal_naive")


def _scaled(progress: Progress | None, start: float, width: float) -> Progress | None:
    """A progress callback for one part of a longer job."""
    if progress is None:
        return None
    report: Callable[[float, str], None] = progress
    return lambda f, msg: report(start + width * f, msg)
