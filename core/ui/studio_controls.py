"""The threshold controls of the Anomaly detection page, with the modes and directions they offer.

``threshold_controls(c2, c3, mode, scored, base, ds, ref)`` draws the middle and right columns of
"Detection settings": the slider of the threshold ``mode`` (sigma, whose scale ends just above the
highest score in ``scored``; percentile; alerts per month; none for dynamic), the direction, the
minimum deviation in the dataset's unit and in percent of expected, and the public holidays
(``core.ui.settings.holiday_choice``). It returns a ``ThresholdChoice``: the widgets' values as drawn
(the download's settings describe them so), and ``.settings()`` the ``ThresholdSettings`` they make.
Every widget starts from ``base`` (the shared choice) and takes its value through
``core.ui.state.kept``; the keys start with ``detect_``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.charts.tables import score_ceiling, top_score
from core.detect.thresholds import ThresholdSettings
from core.ingest.data import Dataset
from core.ingest.refs import DatasetRef
from core.ui.settings import holiday_choice
from core.ui.state import kept

MODES = {
    "sigma": "Calibrated score (sigma)",
    "percentile": "Percentile (contamination)",
    "dynamic": "Dynamic (telemanom)",
    "per_month": "At most N alerts per month",
}
DIRECTIONS = {"both": "Both", "over": "Over-use only", "under": "Under-use only"}
DEFAULT_K = ThresholdSettings().k


@dataclass(frozen=True)
class ThresholdChoice:
    """The threshold widgets' values, as drawn (an int slider gives an int)."""

    mode: str
    k: float
    percentile: float
    per_month: int
    direction: str
    min_dev: float
    min_dev_pct: int
    country: str | None
    holidays_normal: bool

    def settings(self) -> ThresholdSettings:
        """The ``ThresholdSettings`` these values make."""
        return ThresholdSettings(
            mode=self.mode,
            k=float(self.k),
            percentile=float(self.percentile),
            alerts_per_month=int(self.per_month),
            direction=self.direction,
            min_deviation=float(self.min_dev),
            min_deviation_pct=float(self.min_dev_pct),
            country=self.country,
            holidays_normal=self.holidays_normal,
        )


def threshold_controls(
    c2: DeltaGenerator,
    c3: DeltaGenerator,
    mode: str,
    scored: pd.DataFrame,
    base: ThresholdSettings,
    ds: Dataset,
    ref: DatasetRef,
) -> ThresholdChoice:
    """The threshold, direction, minimum deviation and holiday widgets in columns ``c2`` and ``c3``."""
    with c2:
        k, percentile, per_month = DEFAULT_K, 99.0, 10
        if mode == "sigma":
            # the slider ends just above the highest score here: past it nothing could be flagged
            top = score_ceiling(scored["score"])
            k_key = kept("detect_k", float(base.k))
            st.session_state[k_key] = min(float(st.session_state[k_key]), top)
            k = st.slider(
                "Score threshold (sigma)",
                1.0,
                top,
                step=0.1,
                key=k_key,
                help="Calibrated scale: about 1 % of training points score above 2.33, 0.1 % above "
                f"3.09. The highest score in this data is {top_score(scored['score']):.2f}, so the "
                "scale ends there.",
            )
        elif mode == "percentile":
            percentile = st.slider(
                "Flag scores above this percentile",
                90.0,
                99.9,
                step=0.1,
                key=kept("detect_percentile", float(base.percentile)),
            )
        elif mode == "per_month":
            per_month = st.slider(
                "Alerts per month (at most)",
                1,
                60,
                step=1,
                key=kept("detect_per_month", int(base.alerts_per_month)),
            )
        else:
            st.caption("Dynamic: the threshold follows the recent spread of the smoothed scores.")
        direction = st.radio(
            "Direction",
            list(DIRECTIONS),
            format_func=DIRECTIONS.get,
            horizontal=True,
            key=kept("detect_direction", base.direction),
        )
    with c3:
        min_dev = st.number_input(
            f"Minimum deviation ({ds.unit})",
            min_value=0.0,
            step=1.0,
            key=kept("detect_min_dev", float(base.min_deviation)),
        )
        min_dev_pct = st.slider(
            "Minimum deviation (% of expected)",
            0,
            100,
            step=5,
            key=kept("detect_min_dev_pct", int(base.min_deviation_pct)),
        )
        country, holidays_normal = holiday_choice(ds, ref)
    return ThresholdChoice(
        mode=mode,
        k=k,
        percentile=percentile,
        per_month=per_month,
        direction=direction,
        min_dev=min_dev,
        min_dev_pct=min_dev_pct,
        country=country,
        holidays_normal=holidays_normal,
    )
