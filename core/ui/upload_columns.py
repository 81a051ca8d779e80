"""The Upload page's column, unit, time-zone and cleaning pickers, with the choices they offer.

``column_choices(guess, file_digest)`` draws the **Columns** expander (timestamp, consumption, meter id
column and the meter of a long-format file, label, covariates, unit, time zone of naive timestamps),
each starting at "(detected)", and returns the ``Schema`` they describe with the meter ids of the
file. ``cleaning_choices(base, file_digest)`` draws "Resample to" and "Fill gaps up to this many
steps" below it, starting from ``base`` (a bundled sample's own options), and returns the
``CleanOptions``. Every widget key ends in the first 12 characters of ``file_digest``, so a new file
starts from its own detected columns, and takes its value through ``core.ui.state.kept``.
"""

from __future__ import annotations

import streamlit as st

from core.ingest.columns import SchemaGuess
from core.ingest.data import CleanOptions, Schema
from core.ui.state import kept

AUTO = "(detected)"
RESAMPLE = {
    "Keep the file's step": None,
    "15 min": "15min",
    "30 min": "30min",
    "1 h": "1h",
    "1 day": "1D",
}
TIMEZONES = [
    AUTO,
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Rome",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
]
UNITS = [AUTO, "kWh", "Wh", "MWh", "kW", "W", "MW"]


def _pick(
    label: str, options: list[str], guessed: str | None, key: str, file_digest: str
) -> str | None:
    choices = [AUTO, *options]
    shown = f"{AUTO[:-1]}: {guessed})" if guessed else AUTO
    value = st.selectbox(
        label,
        choices,
        key=kept(f"upload_{key}_{file_digest[:12]}", AUTO),
        format_func=lambda c: shown if c == AUTO else c,
    )
    return None if value == AUTO else value


def column_choices(guess: SchemaGuess, file_digest: str) -> tuple[Schema, list[str]]:
    """The Columns expander: the ``Schema`` picked (``None`` where detected) and the file's meters."""
    with st.expander("Columns (detected automatically; override if wrong)", expanded=False):
        cols = list(guess.columns)
        c1, c2, c3 = st.columns(3)
        with c1:
            ts_col = _pick("Timestamp column", cols, guess.timestamp_col, "ts", file_digest)
            value_col = _pick("Consumption column", cols, guess.value_col, "value", file_digest)
        with c2:
            meter_col = _pick(
                "Meter id column (long format)", cols, guess.meter_col, "meter_col", file_digest
            )
            meter = None
            meters = list(getattr(guess, "meters", []) or [])
            if meters and meter_col in (None, guess.meter_col):
                meter = st.selectbox(
                    "Meter", meters, key=kept(f"upload_meter_{file_digest[:12]}", meters[0])
                )
            label_col = _pick(
                "Label column (0/1 anomaly)", cols, guess.label_col, "label", file_digest
            )
        with c3:
            covariates = st.multiselect(
                "Covariates (e.g. outdoor temperature)",
                cols,
                key=kept(
                    f"upload_cov_{file_digest[:12]}",
                    [c for c in guess.covariate_cols if c in cols],
                ),
            )
            unit = st.selectbox(
                f"Unit (detected: {guess.unit})",
                UNITS,
                key=kept(f"upload_unit_{file_digest[:12]}", AUTO),
            )
            tz = st.selectbox(
                "Timezone of naive timestamps",
                TIMEZONES,
                key=kept(f"upload_tz_{file_digest[:12]}", AUTO),
            )
    schema = Schema(
        timestamp_col=ts_col,
        value_col=value_col,
        meter_col=meter_col,
        meter=meter,
        label_col=label_col,
        covariate_cols=tuple(covariates) if covariates != list(guess.covariate_cols) else (),
        unit=None if unit == AUTO else unit,
        tz=None if tz == AUTO else tz,
    )
    return schema, meters


def cleaning_choices(base: CleanOptions, file_digest: str) -> CleanOptions:
    """Resample and gap-fill pickers, starting from ``base``: the ``CleanOptions`` they describe."""
    freq_labels = list(RESAMPLE)
    base_freq = next((k for k, v in RESAMPLE.items() if v == base.freq), freq_labels[0])
    c1, c2 = st.columns(2)
    resample_label = c1.selectbox(
        "Resample to",
        freq_labels,
        key=kept(f"upload_resample_{file_digest[:12]}", base_freq),
        help="Energy units are summed per step, power units averaged.",
    )
    fill_limit = c2.number_input(
        "Fill gaps up to this many steps",
        min_value=0,
        max_value=96,
        step=1,
        key=kept(f"upload_fill_{file_digest[:12]}", int(base.fill_limit)),
        help="Longer gaps stay missing and are never scored.",
    )
    return CleanOptions(
        freq=RESAMPLE[resample_label],
        fill_limit=int(fill_limit),
        cumulative_to_interval=base.cumulative_to_interval,
    )
