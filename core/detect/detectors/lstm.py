"""LSTM forecast error: forecast the next reading as a load forecaster would, score the surprise.

The network forecasts one step ahead from what a load forecaster reads: the last ``window``
readings (an LSTM layer), and for the step it forecasts the reading at the same time a day and a
week before, the usual reading of that time of week (``core.detect.profile.WeekProfile``), the
calendar (hour and weekday on the unit circle, a public-holiday flag) and the outdoor temperature
when the frame has one. Its output is added to the usual reading, so it learns how this week
differs from the profile rather than the profile itself.

Anomalies in the training year must not teach it that they are normal, nor steer its later
forecasts. So a reading that looks anomalous is replaced by the profile's usual reading wherever
the network *reads* it (window and lags), in training and in scoring alike: more than
``clean_k`` profile sigmas off, a zero in a meter that is almost never zero, the 6th equal reading
in a row in a meter that usually moves, or missing. Each is judged from itself and earlier readings
(``_lstm_inputs.causal_outliers``), so a score depends on the point and the readings before it only
(``lookback``). Training also leaves out the targets that the robust two-sided pre-filter
(``_lstm_inputs.suspect_points``) or the cleaning marks.

The raw score is the standardised residual: ``|residual - m| / s``, with ``m`` and ``s`` the median
and robust sigma of the training residuals at that hour of the week (hour of the day, or one for
all, when the training data is too short for that; ``_lstm_inputs.local_scale``). A meter that is
hard to forecast at 8 a.m. and easy at night is judged on each hour's own spread.

TensorFlow is imported lazily: importing ``core.detect.detectors`` must stay cheap for the app.
"""

from __future__ import annotations

import math
import random
from typing import ClassVar

import numpy as np
import pandas as pd

from core.detect.detectors._lstm_inputs import (
    calendar_inputs,
    causal_outliers,
    cleaned,
    default_window,
    filled,
    local_scale,
    profile_before,
    seasonal_lags,
    seasonal_steps,
    step_seconds,
    suspect_points,
    week_hours,
)
from core.detect.detectors.base import Detector, Progress, register
from core.detect.profile import WeekProfile, fit_profile
from core.quiet import quiet_libraries

quiet_libraries()

# the network's inputs beside the window, in order (temperature last, when there is one)
CONTEXT_NAMES = (
    "hour_sin",
    "hour_cos",
    "weekday_sin",
    "weekday_cos",
    "holiday",
    "same_time_yesterday",
    "same_time_last_week",
    "usual_for_time_of_week",
)
PROFILE_COLUMN = CONTEXT_NAMES.index("usual_for_time_of_week")
FLAT_STEPS = 6  # as suspect_points: six equal readings in a row is a stuck meter, not a quiet one


@register
class LSTMDetector(Detector):
    """An LSTM over the recent readings plus a dense head over seasonal lags, profile and calendar.

    Parameters
    ----------
    window : int or None
        Steps of history the LSTM reads; ``None`` picks one day of steps (14..48).
    units : int
        LSTM units.
    epochs, batch_size, patience : int
        Training length; early stopping on the last ``validation_fraction`` of the series (time
        ordered, best weights restored) after ``patience`` epochs without improvement.
    dropout : float
        Dropout after the LSTM layer.
    seed : int
        Seeds Python, NumPy and TensorFlow: two fits with the same seed give the same scores.
    smoothing : int
        EWMA span of the score in steps; 1 scores every point on its own. Anomalies are runs more
        often than single readings: span 6 raised mean AUC-ROC from 0.83 to 0.90 on the four LEAD
        buildings and from 0.60 to 0.63 on the seven NAB series, and event F1 on both.
    clean_k : float
        A reading further than this many profile sigmas from its usual reading is replaced by the
        usual reading in the network's inputs (5, as the pre-filter: only the clearly abnormal).
    interval_width : float
        Coverage of the ``expected`` band, from quantiles of the standardised training residuals.
    country : str or None
        ISO country code for the holiday flag (``holidays`` package, no download).
    use_temperature : bool
        Feed the ``temperature`` column when the frame has one.
    validation_fraction : float
        Last share of the training targets held out for early stopping.
    max_train_points : int
        Train on at most the latest this-many targets (a year of hourly readings is 8,784), so a
        year of 15-minute data trains in about the time of a year of hourly data. Scaling, the
        profile and the residual statistics still use the whole frame.
    """

    name: ClassVar[str] = "lstm"
    title: ClassVar[str] = "LSTM forecast error"
    forecasting: ClassVar[bool] = True

    def __init__(
        self,
        window: int | None = None,
        units: int = 32,
        epochs: int = 20,
        batch_size: int = 256,
        patience: int = 3,
        dropout: float = 0.1,
        seed: int = 0,
        smoothing: int = 6,
        clean_k: float = 5.0,
        interval_width: float = 0.95,
        country: str | None = None,
        use_temperature: bool = True,
        validation_fraction: float = 0.15,
        max_train_points: int = 10_000,
    ) -> None:
        self.window = window
        self.units = units
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.dropout = dropout
        self.seed = seed
        self.smoothing = smoothing
        self.clean_k = clean_k
        self.interval_width = interval_width
        self.country = country
        self.use_temperature = use_temperature
        self.validation_fraction = validation_fraction
        self.max_train_points = max_train_points

    # ---- fit ----------------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame, progress: Progress | None = None) -> None:
        window = int(self.window or default_window(frame.index))
        if len(frame) < window + self.min_points:
            raise ValueError(
                f"{self.title} needs at least {window + self.min_points} points for a window of "
                f"{window}, got {len(frame)}"
            )
        self.window_ = window
        self.step_seconds_ = step_seconds(frame.index)
        self.lags_ = list(seasonal_steps(frame.index))
        value = frame["value"].astype(float)
        suspect = suspect_points(value)
        self._learn_profile(value.where(~suspect))
        clean = value[~suspect]
        self.value_center_ = float(clean.mean())
        self.value_scale_ = float(clean.std()) or 1.0
        self.clean_zeros_ = bool((clean == 0).mean() < 0.05)
        self.clean_flat_steps_ = FLAT_STEPS if value.diff().eq(0).mean() < 0.2 else 0
        self.uses_temperature_ = bool(
            self.use_temperature
            and "temperature" in frame.columns
            and frame["temperature"].notna().any()
        )
        if self.uses_temperature_:
            temp = frame["temperature"].astype(float)
            self.temperature_center_ = float(temp.mean())
            self.temperature_scale_ = float(temp.std()) or 1.0
        self.input_names_ = list(CONTEXT_NAMES) + (
            ["temperature"] if self.uses_temperature_ else []
        )
        replaced = self._outliers(frame)
        self.n_suspect_ = int(suspect.sum())
        self.n_replaced_ = int((replaced & value.notna().to_numpy()).sum())

        # train on the best cleaning there is (the two-sided pre-filter too); score causally
        seq, exog = self._inputs(frame, replace=replaced | suspect)
        target = (value.to_numpy() - self.value_center_) / self.value_scale_
        rows = np.arange(window, len(frame))
        ok = rows[np.isfinite(target[rows]) & ~suspect[rows] & ~replaced[rows]]
        if self.max_train_points:
            ok = ok[-self.max_train_points :]
        n_val = max(1, int(round(len(ok) * self.validation_fraction)))
        train, val = ok[:-n_val], ok[-n_val:]  # time ordered: validate on the latest stretch

        # set_random_seed reseeds Python's and NumPy's global generators too: put them back after
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            model, history = self._train(seq, exog, target, train, val, progress)
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
        self.model_ = model
        self.loss_ = [float(x) for x in history.history["loss"]]
        self.val_loss_ = [float(x) for x in history.history["val_loss"]]
        self.epochs_run_ = len(self.loss_)
        self.best_epoch_ = int(np.argmin(self.val_loss_)) + 1

        resid = value.to_numpy() - self._predict(frame)
        resid[suspect | replaced] = np.nan
        center, sigma = local_scale(resid, frame.index)
        self.resid_center_, self.resid_sigma_ = center, sigma
        z = (resid - center[week_hours(frame.index)]) / sigma[week_hours(frame.index)]
        tail = (1 - self.interval_width) / 2
        self.z_lower_, self.z_upper_ = (float(q) for q in np.nanquantile(z, [tail, 1 - tail]))
        # the forecast's band: one for every hour, so that it only ever widens with the horizon
        self.resid_lower_, self.resid_upper_ = (
            float(q) for q in np.nanquantile(resid, [tail, 1 - tail])
        )
        lo, hi = np.nanquantile(clean.to_numpy(dtype=float), [tail, 1 - tail])
        self.value_spread_ = float(hi - lo)  # caps how wide a long-range forecast band may get

    def _learn_profile(self, value: pd.Series) -> None:
        """The usual reading per time of week, kept as plain fitted attributes (savable)."""
        p = fit_profile(value, yearly=False)  # the lags carry the season
        self.profile_slot_median_ = p.slot_median
        self.profile_minute_median_ = p.minute_median
        self.profile_median_ = float(p.median)
        self.profile_slot_mad_ = p.slot_mad
        self.profile_minute_mad_ = p.minute_mad
        self.profile_mad_ = float(p.mad)

    def _profile(self) -> WeekProfile:
        return WeekProfile(
            slot_median=self.profile_slot_median_,
            minute_median=self.profile_minute_median_,
            median=self.profile_median_,
            slot_mad=self.profile_slot_mad_,
            minute_mad=self.profile_minute_mad_,
            mad=self.profile_mad_,
        )

    def _train(self, seq, exog, target, train, val, progress):
        """Seeded Keras training with early stopping on the time-ordered validation rows."""
        import keras

        window = self.window_
        keras.utils.set_random_seed(self.seed)
        model = self._build(exog.shape[1])
        callbacks = [
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.patience, restore_best_weights=True
            ),
            _ProgressCallback(progress, self.epochs),
        ]
        history = model.fit(
            [seq[train - window], exog[train]],
            target[train],
            validation_data=([seq[val - window], exog[val]], target[val]),
            epochs=self.epochs,
            batch_size=self.batch_size,
            shuffle=True,
            callbacks=callbacks,
            verbose=0,
        )
        return model, history

    def _build(self, n_exog: int):
        import keras
        from keras import layers

        seq = keras.Input((self.window_, 1), name="history")
        exog = keras.Input((n_exog,), name="calendar")
        h = layers.LSTM(self.units, name="lstm")(seq)
        h = layers.Dropout(self.dropout)(h)
        z = layers.Concatenate()([h, exog])
        z = layers.Dense(32, activation="relu")(z)
        correction = layers.Dense(1, name="correction")(z)
        # a fixed one-hot weight picks the usual reading out of the inputs: a plain layer, so the
        # model saves as .keras without a Lambda (which loading would refuse in safe mode)
        usual = layers.Dense(1, use_bias=False, trainable=False, name="usual")(exog)
        out = layers.Add(name="next_value")([correction, usual])
        model = keras.Model([seq, exog], out, name="lstm_forecaster")
        pick = np.zeros((n_exog, 1), dtype="float32")
        pick[PROFILE_COLUMN, 0] = 1.0
        model.get_layer("usual").set_weights([pick])
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=keras.losses.Huber())
        return model

    # ---- inputs and predictions ---------------------------------------------------------------
    def _outliers(self, frame: pd.DataFrame) -> np.ndarray:
        """Readings the network reads as the usual reading instead (judged causally)."""
        return causal_outliers(
            frame["value"],
            self._profile(),
            k=self.clean_k,
            zeros=self.clean_zeros_,
            flat_steps=self.clean_flat_steps_ or None,
        )

    def _scaled(self, v: np.ndarray) -> np.ndarray:
        return (v - self.value_center_) / self.value_scale_

    def _exog(
        self,
        index: pd.DatetimeIndex,
        lags: np.ndarray,
        temperature: np.ndarray | None,
    ) -> np.ndarray:
        """Calendar, seasonal lags and the usual reading (scaled), then temperature: ``(n, k)``."""
        usual = self._profile().expected(index)
        cols = [
            calendar_inputs(index, self.country),
            self._scaled(lags),
            self._scaled(usual)[:, None],
        ]
        if self.uses_temperature_:
            if temperature is None:
                raise ValueError(
                    "this LSTM was trained with a 'temperature' column; the frame has none"
                )
            t = (temperature - self.temperature_center_) / self.temperature_scale_
            cols.append(t[:, None])
        return np.column_stack(cols).astype("float32")

    def _inputs(
        self, frame: pd.DataFrame, replace: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """History windows ``(n - window, window, 1)`` and per-step context inputs ``(n, k)``, both
        read from the cleaned readings (``replace`` marks more readings to clean than the causal
        rule does: training uses the two-sided pre-filter too)."""
        value = frame["value"].astype(float)
        out = self._outliers(frame) if replace is None else replace | self._outliers(frame)
        v = cleaned(value, out, self._profile())  # missing readings too: no look-ahead
        v = filled(pd.Series(v, index=frame.index))
        windows = np.lib.stride_tricks.sliding_window_view(self._scaled(v)[:-1], self.window_)
        lags = seasonal_lags(v, frame.index, self._profile(), tuple(self.lags_))
        temp = None
        if self.uses_temperature_:
            if "temperature" not in frame.columns:
                raise ValueError(
                    "this LSTM was trained with a 'temperature' column; the frame has none"
                )
            # carried forward, not interpolated: a score must not read a later temperature
            temp = frame["temperature"].astype(float).ffill().bfill().fillna(0.0).to_numpy()
        return windows[..., None].astype("float32"), self._exog(frame.index, lags, temp)

    def _predict(self, frame: pd.DataFrame) -> np.ndarray:
        """One-step-ahead prediction in original units; NaN for the first ``window`` points."""
        out = np.full(len(frame), np.nan)
        if len(frame) <= self.window_:
            return out
        seq, exog = self._inputs(frame)
        rows = np.arange(self.window_, len(frame))
        pred = np.empty(len(rows))
        chunk = 8192  # compiled predict on big chunks: linear in length, bounded memory
        for s in range(0, len(rows), chunk):
            r = rows[s : s + chunk]
            pred[s : s + chunk] = np.asarray(
                self.model_.predict_on_batch([seq[r - self.window_], exog[r]])
            )[:, 0]
        out[rows] = pred * self.value_scale_ + self.value_center_
        return out

    def _local(self, index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        """The residual median and sigma at each timestamp's hour of the week."""
        hours = week_hours(index)
        return np.asarray(self.resid_center_)[hours], np.asarray(self.resid_sigma_)[hours]

    # ---- contract -----------------------------------------------------------------------------
    def lookback(self, index: pd.DatetimeIndex) -> int:
        """The window, the week lag, a flat run's count, and the smoothing's memory (to 1e-9)."""
        window = getattr(self, "window_", None) or int(self.window or default_window(index))
        memory = 0
        if self.smoothing and self.smoothing > 1:
            memory = math.ceil(math.log(1e-9) / math.log(1 - 2 / (self.smoothing + 1)))
        return window + seasonal_steps(index)[1] + FLAT_STEPS + memory

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        resid = frame["value"].to_numpy(dtype=float) - self._predict(frame)
        center, sigma = self._local(frame.index)
        z = np.abs(resid - center) / sigma
        if self.smoothing and self.smoothing > 1:
            smooth = pd.Series(z).ewm(span=self.smoothing, ignore_na=True).mean().to_numpy()
            z = np.where(np.isfinite(z), smooth, np.nan)
        return z

    def _band(self, index: pd.DatetimeIndex, yhat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Offsets of the band around ``yhat`` at each timestamp: the local residual median plus
        the standardised residual quantiles times the local sigma, always around ``yhat``."""
        center, sigma = self._local(index)
        lower = np.minimum(center + self.z_lower_ * sigma, 0.0)
        upper = np.maximum(center + self.z_upper_ * sigma, 0.0)
        return lower, upper

    def _expected(self, frame: pd.DataFrame) -> pd.DataFrame:
        yhat = self._predict(frame)
        lower, upper = self._band(frame.index, yhat)
        return pd.DataFrame(
            {"expected": yhat, "lower": yhat + lower, "upper": yhat + upper}, index=frame.index
        )

    def forecast(
        self,
        frame: pd.DataFrame,
        index: pd.DatetimeIndex,
        temperature: np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Recursive multi-step forecast for ``index`` (the steps right after ``frame``).

        Each prediction is fed back as the newest reading, and as the day-before or week-before
        reading once a lag falls inside the forecast. The band is the training residual quantile
        band (one for all hours, unlike ``expected``'s) widened by ``sqrt(h)`` at ``h`` steps
        ahead (errors compound roughly like a random walk), but never wider than the spread of
        the training readings themselves (the same coverage): far ahead the forecast knows no
        less than "a usual reading for this meter". ``temperature`` (one value per future step)
        is required when the model was trained with it.
        """
        self._check_fitted()
        self._check_frame(frame, fitting=False)
        if len(frame) < self.window_:
            raise ValueError(f"need at least {self.window_} readings of history to forecast")
        value = frame["value"].astype(float)
        hist = filled(
            pd.Series(
                cleaned(value, self._outliers(frame), self._profile()),
                index=frame.index,
            )
        )
        longest, n, w = max(self.lags_), len(frame), self.window_
        # history (profile-padded where a lag reaches before it), then the forecasts as they come
        series = np.concatenate(
            [
                profile_before(self._profile(), frame.index, longest),
                hist,
                np.full(len(index), np.nan),
            ]
        )
        temp = None if temperature is None else np.asarray(temperature, dtype=float)
        lag_cols = np.zeros((len(index), len(self.lags_)))  # filled step by step below
        exog = self._exog(index, lag_cols, temp)
        first_lag = CONTEXT_NAMES.index("same_time_yesterday")
        preds = np.empty(len(index))
        for i in range(len(index)):
            p = longest + n + i
            x = self._scaled(series[p - w : p]).astype("float32")[None, :, None]
            row = exog[i : i + 1].copy()
            row[0, first_lag : first_lag + len(self.lags_)] = self._scaled(
                np.array([series[p - k] for k in self.lags_])
            )
            # predict_on_batch runs the compiled graph: ~3 ms a step, against ~100 ms eagerly
            pred = float(np.asarray(self.model_.predict_on_batch([x, row]))[0, 0])
            preds[i] = pred * self.value_scale_ + self.value_center_
            series[p] = preds[i]
        band = self.resid_upper_ - self.resid_lower_
        cap = max(self.value_spread_ / band, 1.0) if band > 0 else 1.0
        widen = np.minimum(np.sqrt(np.arange(1, len(index) + 1)), cap)
        return pd.DataFrame(
            {
                "expected": preds,
                "lower": preds + self.resid_lower_ * widen,
                "upper": preds + self.resid_upper_ * widen,
            },
            index=index,
        )


class _ProgressCallback:
    """Adapter: Keras epoch end -> ``progress(fraction, "epoch 3/20 — loss 0.0123")``.

    Built lazily as a real ``keras.callbacks.Callback`` subclass (see ``__new__``) so that importing
    this module does not import TensorFlow. It runs after EarlyStopping, so on the epoch where early
    stopping fires it already knows and reports the fraction as 1.0.
    """

    def __new__(cls, progress: Progress | None, epochs: int):
        import keras

        class _Callback(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if progress is None:
                    return
                logs = logs or {}
                stop = bool(getattr(self.model, "stop_training", False))
                done = epoch + 1
                fraction = 1.0 if stop else done / epochs
                msg = f"epoch {done}/{epochs} — loss {logs.get('loss', float('nan')):.4f}"
                if "val_loss" in logs:
                    msg += f", validation {logs['val_loss']:.4f}"
                if stop:
                    msg += " — early stop"
                progress(fraction, msg)

        return _Callback()
