"""Prophet residual: distance from Prophet's fit in units of its uncertainty half-width.

Prophet (additive: trend + daily/weekly/yearly seasonality + holidays + temperature) is fitted once
(MAP, L-BFGS). Inside the fitted period Prophet's uncertainty interval is ``yhat ± z·sigma_obs``
(trend uncertainty only starts after the last training point), so it is computed here in closed
form instead of by Monte Carlo, with sigma measured as the RMS of the in-sample residuals at the
native step (Prophet's sigma_obs for a plain fit): scoring stays fast and exactly reproducible.
Forecasts (``predict(samples=True)``) use Prophet's Monte Carlo band, which widens after the end.

Score choice: ``|y - yhat| / half_width`` everywhere, not ``max(0, ...)`` outside the band only.
It is below 1 inside the band and above 1 outside, so "outside the interval" is ``score > 1`` and
points inside the band are still ranked (threshold modes other than "outside the band" need that).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from core.detect.detectors.base import Detector, Progress, register
from core.quiet import quiet_libraries

quiet_libraries()

YEARLY_MIN_DAYS = 360  # about one full cycle: fewer and the yearly terms just bend to the trend
YEARLY_ORDER = 10  # Fourier order of the yearly seasonality
COMPONENTS = ("trend", "daily", "weekly", "daily_weekday", "daily_weekend", "yearly", "holidays")


def prophet_frame(frame: pd.DataFrame, *, temperature: bool) -> pd.DataFrame:
    """Canonical frame -> Prophet's ``ds, y[, temperature]`` (naive local time, regressor filled)."""
    ds = frame.index.tz_localize(None) if frame.index.tz is not None else frame.index
    out = pd.DataFrame({"ds": ds, "y": frame["value"].to_numpy(dtype=float)})
    if temperature:
        t = frame["temperature"].astype(float)
        out["temperature"] = t.interpolate(limit_direction="both").fillna(0.0).to_numpy()
    return out


@register
class ProphetDetector(Detector):
    """Prophet's additive model; the score is the residual over the interval half-width.

    Parameters
    ----------
    country : str or None
        ISO code for Prophet's built-in country holidays (``holidays`` package, no download).
    use_temperature : bool
        Add ``temperature`` as an extra regressor when the frame has it.
    interval_width : float
        Coverage of the uncertainty interval; the score is 1 on its edge.
    changepoint_prior_scale : float
        Trend flexibility (Prophet's default 0.05).
    split_weekend_daily : bool
        Two daily profiles (working days, weekends) instead of one: buildings sleep at weekends.
    uncertainty_samples : int
        Monte Carlo draws Prophet uses for *future* intervals (forecasts); scoring does not sample.
    max_train_points : int
        Fit on at most the latest this-many readings (keeps long series fast).
    hourly_fit : bool
        When readings come more often than hourly, fit on hourly means (4x fewer rows for 15-min
        data; Prophet's time is mostly spent per row) and predict at the native step. The band is
        then measured on the native residuals, so it keeps the native noise.
    """

    name: ClassVar[str] = "prophet"
    title: ClassVar[str] = "Prophet residual"
    forecasting: ClassVar[bool] = True

    def __init__(
        self,
        country: str | None = None,
        use_temperature: bool = True,
        interval_width: float = 0.95,
        changepoint_prior_scale: float = 0.05,
        split_weekend_daily: bool = True,
        uncertainty_samples: int = 300,
        max_train_points: int = 35_136,
        hourly_fit: bool = True,
    ) -> None:
        self.country = country
        self.use_temperature = use_temperature
        self.interval_width = interval_width
        self.changepoint_prior_scale = changepoint_prior_scale
        self.split_weekend_daily = split_weekend_daily
        self.uncertainty_samples = uncertainty_samples
        self.max_train_points = max_train_points
        self.hourly_fit = hourly_fit

    def _fit(self, frame: pd.DataFrame, progress: Progress | None = None) -> None:
        from prophet import Prophet

        quiet_libraries()  # Prophet sets its logger to INFO on import
        train = frame.iloc[-self.max_train_points :] if self.max_train_points else frame
        span_days = (train.index[-1] - train.index[0]) / pd.Timedelta("1D")
        step = pd.Timedelta(int(np.median(np.diff(train.index.as_unit("ns").asi8))), "ns")
        daily = step < pd.Timedelta("1D") and span_days >= 2
        weekly = span_days >= 14
        split = bool(self.split_weekend_daily and daily and weekly)
        self.uses_temperature_ = bool(
            self.use_temperature
            and "temperature" in train.columns
            and train["temperature"].notna().any()
        )
        model = Prophet(
            daily_seasonality=daily and not split,
            weekly_seasonality=weekly,
            yearly_seasonality=YEARLY_ORDER if span_days >= YEARLY_MIN_DAYS else False,
            interval_width=self.interval_width,
            changepoint_prior_scale=self.changepoint_prior_scale,
            uncertainty_samples=self.uncertainty_samples,
        )
        if split:
            model.add_seasonality("daily_weekday", 1, 4, condition_name="is_weekday")
            model.add_seasonality("daily_weekend", 1, 4, condition_name="is_weekend")
        if self.country:
            model.add_country_holidays(country_name=self.country)
        if self.uses_temperature_:
            model.add_regressor("temperature")
        self.split_weekend_daily_ = split
        self.hourly_fit_ = bool(self.hourly_fit and step < pd.Timedelta("1h"))
        cols = ["value", "temperature"] if self.uses_temperature_ else ["value"]
        fit_rows = train
        if self.hourly_fit_:
            fit_rows = train[cols].resample("1h").mean()
            fit_rows.index += (pd.Timedelta("1h") - step) / 2  # a mean sits mid-way in its hour
        if progress:
            progress(0.1, "fitting Prophet")
        model.fit(self._design(fit_rows), iter=5000)
        if progress:
            progress(1.0, "Prophet fitted")
        self.model_ = model
        z = float(stats.norm.ppf(0.5 + self.interval_width / 2))
        # Prophet's own band is yhat +- z*sigma_obs; measure it on the native rows instead (the same
        # thing for a plain fit, the right noise level for an hourly-mean fit)
        self.model_half_width_ = z * float(np.mean(model.params["sigma_obs"])) * model.y_scale
        resid = train["value"].to_numpy(dtype=float) - self._yhat(train)
        rms = float(np.sqrt(np.nanmean(resid**2)))
        self.half_width_ = z * rms if rms > 0 else self.model_half_width_

    def _design(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Prophet input for ``frame``: ds, y, regressors and the weekday/weekend conditions."""
        df = prophet_frame(frame, temperature=self.uses_temperature_)
        if self.split_weekend_daily_:
            weekend = df["ds"].dt.dayofweek.to_numpy() >= 5
            df["is_weekday"] = ~weekend
            df["is_weekend"] = weekend
        return df

    def predict(self, frame: pd.DataFrame, *, samples: bool = False) -> pd.DataFrame:
        """Prophet's prediction table for ``frame``'s timestamps (``yhat``, components, ...).

        With ``samples=False`` Prophet draws nothing (fast, deterministic) and the band is the
        closed-form in-sample one; ``samples=True`` adds Prophet's Monte Carlo ``yhat_lower/upper``,
        which include trend uncertainty after the training end (used by forecasts).
        """
        self._check_fitted()
        return self._predict(frame, samples=samples)

    def _yhat(self, frame: pd.DataFrame) -> np.ndarray:
        return self._raw_predict(frame, samples=False)["yhat"].to_numpy()

    def _predict(self, frame: pd.DataFrame, *, samples: bool = False) -> pd.DataFrame:
        samples = bool(samples and self.uncertainty_samples)  # 0 draws: closed-form band only
        out = self._raw_predict(frame, samples=samples)
        yhat = out["yhat"]
        if samples:
            # add the noise Prophet's draws lack (native vs hourly-mean noise), in variance
            extra2 = max(self.half_width_**2 - self.model_half_width_**2, 0.0)
            out["yhat_lower"] = yhat - np.sqrt((yhat - out["yhat_lower"]) ** 2 + extra2)
            out["yhat_upper"] = yhat + np.sqrt((out["yhat_upper"] - yhat) ** 2 + extra2)
        else:
            out["yhat_lower"] = yhat - self.half_width_
            out["yhat_upper"] = yhat + self.half_width_
        return out

    def _raw_predict(self, frame: pd.DataFrame, *, samples: bool) -> pd.DataFrame:
        if self.uses_temperature_ and "temperature" not in frame.columns:
            raise ValueError("this Prophet model uses 'temperature'; the frame has none")
        model = self.model_
        if samples != bool(model.uncertainty_samples):
            import copy

            model = copy.copy(model)  # never mutate the fitted (possibly cached) model
            model.uncertainty_samples = self.uncertainty_samples if samples else 0
        state = np.random.get_state()  # Prophet samples from NumPy's global generator
        np.random.seed(0)
        try:
            out = model.predict(self._design(frame).drop(columns="y"))
        finally:
            np.random.set_state(state)
        out.index = frame.index
        return out

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        yhat = self._yhat(frame)
        return np.abs(frame["value"].to_numpy(dtype=float) - yhat) / max(self.half_width_, 1e-12)

    def _expected(self, frame: pd.DataFrame) -> pd.DataFrame:
        p = self._predict(frame)
        return pd.DataFrame(
            {
                "expected": p["yhat"].to_numpy(),
                "lower": p["yhat_lower"].to_numpy(),
                "upper": p["yhat_upper"].to_numpy(),
            },
            index=frame.index,
        )

    def components(self, prediction: pd.DataFrame) -> pd.DataFrame:
        """The additive parts of a :meth:`predict` table that this model has, one column each."""
        names = [c for c in COMPONENTS if c in prediction.columns]
        names += [r for r in self.model_.extra_regressors if r in prediction.columns]
        return prediction[names].copy()
