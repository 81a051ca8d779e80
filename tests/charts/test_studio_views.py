"""The studio as an energy manager reads it (issue 19): zoomed windows at full resolution, the
event in context, forecasts that never go below zero, a backtest that names the model to trust,
events in words (type, severity, impact), the slider's scale and both signs of energy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.charts.forecast import forecast_figure
from core.charts.series import CONTEXT_DAYS, anomaly_figure, event_context_figure
from core.charts.tables import (
    by_impact,
    events_table,
    score_ceiling,
    severity,
    summary_counts,
    type_name,
)
from core.forecast.forecasting import (
    MODEL_NAMES,
    Forecast,
    floored,
    seasonal_naive_forecast,
    trusted_model,
)


def _trace(fig, name):
    found = [t for t in fig.to_dict()["data"] if t.get("name") == name]
    assert len(found) == 1, f"expected one trace named {name!r}"
    return found[0]


@pytest.fixture(scope="module")
def long_scored() -> pd.DataFrame:
    """Sixteen years of hourly readings (140k), like PJM: far more than one chart draws."""
    idx = pd.date_range("2002-01-01", "2018-01-01", freq="1h", name="timestamp")
    rng = np.random.default_rng(3)
    value = (
        10_000 + 2_000 * np.sin(np.arange(len(idx)) * 2 * np.pi / 24) + rng.normal(0, 300, len(idx))
    )
    expected = np.full(len(idx), 10_000.0)
    return pd.DataFrame(
        {
            "value": value,
            "expected": expected,
            "lower": expected - 4_000,
            "upper": expected + 4_000,
            "score": np.abs(value - expected) / 1_000,
        },
        index=idx,
    )


def test_a_zoomed_window_is_drawn_at_full_resolution(long_scored):
    """A 2-day window of 16 years: every reading in it is drawn (not 1 of 4,000), the y-axis fits
    the window and stays above zero, and the whole series is still there for a double click."""
    flags = pd.Series(False, index=long_scored.index)
    lo, hi = pd.Timestamp("2010-06-01"), pd.Timestamp("2010-06-03")
    fig = anomaly_figure(long_scored, flags, None, x_range=(lo, hi))
    x = pd.to_datetime(_trace(fig, "Actual")["x"])
    inside = ((x >= lo) & (x <= hi)).sum()
    assert inside == 49  # 2 days of hours, both ends included
    assert x.min() < pd.Timestamp("2003-01-01") and x.max() > pd.Timestamp("2017-06-01")
    assert len(x) < 4_000 + 60
    y0, y1 = fig.to_dict()["layout"]["yaxis"]["range"]
    window = long_scored.loc[lo:hi]
    assert y0 >= 0 and y0 <= window["value"].min() and y1 >= window["upper"].max()
    assert y1 < long_scored["value"].max() + 5_000


def test_forecast_recent_past_is_full_resolution_and_never_below_zero(long_scored):
    """The Forecasting view opened on the recent past draws that window fully, its y-axis from
    zero (not -100k) when the meter never reads below zero."""
    actual = long_scored["value"].iloc[: -24 * 30]
    history = pd.DataFrame(
        {"expected": actual.to_numpy(), "lower": -100_000.0, "upper": actual.to_numpy() + 500},
        index=actual.index,
    )
    history.iloc[: -24 * 60, history.columns.get_loc("lower")] = -100_000.0
    future = long_scored[["expected", "lower", "upper"]].iloc[-24 * 30 :]
    lo, hi = actual.index[-24 * 14], future.index[-1]
    fig = forecast_figure(history, actual, future, x_range=(lo, hi))
    x = pd.to_datetime(_trace(fig, "Actual")["x"])
    assert ((x >= lo) & (x <= hi)).sum() == 24 * 14
    y0, _ = fig.to_dict()["layout"]["yaxis"]["range"]
    assert y0 == 0.0


def test_the_event_in_context_spans_a_few_days_either_side(long_scored):
    """Explainability's "around the event" chart: the event and CONTEXT_DAYS either side, not the
    whole 16 years, even when other events lie far away."""
    flags = pd.Series(False, index=long_scored.index)
    flags.loc["2012-03-05 10:00":"2012-03-05 13:00"] = True
    events = pd.DataFrame(
        {
            "start": pd.to_datetime(["2003-01-01 10:00", "2012-03-05 10:00", "2017-12-01 00:00"]),
            "end": pd.to_datetime(["2003-01-01 12:00", "2012-03-05 13:00", "2017-12-01 02:00"]),
            "type": ["spike", "spike", "dip"],
            "cause": ["a", "b", "c"],
            "excess": [1.0, 2.0, -1.0],
        }
    )
    fig = event_context_figure(long_scored, flags, events, events.iloc[1]).to_dict()
    lo, hi = (pd.Timestamp(t) for t in fig["layout"]["xaxis"]["range"])
    assert lo == pd.Timestamp("2012-03-05 10:00") - pd.Timedelta(days=CONTEXT_DAYS)
    assert hi == pd.Timestamp("2012-03-05 13:00") + pd.Timedelta(days=CONTEXT_DAYS)
    assert len(fig["layout"]["shapes"]) == 1  # the far events would stretch the axis
    x = pd.to_datetime(fig["data"][-2]["x"])  # "Actual": every hour of the week
    assert len(x) == (2 * CONTEXT_DAYS * 24 + 3) + 1


def test_consumption_is_never_forecast_below_zero():
    """A meter that never reads below zero gets its band floored at zero; one that exports keeps
    its negative values."""
    idx = pd.date_range("2024-01-01", periods=24 * 21, freq="1h")
    value = np.where(idx.hour < 6, 0.0, 50.0) + np.random.default_rng(0).normal(0, 20, len(idx))
    frame = pd.DataFrame({"value": np.abs(value)}, index=idx)
    fc = seasonal_naive_forecast(frame, 48)
    for part in (fc.history, fc.future):
        assert (part[["expected", "lower", "upper"]].dropna() >= 0).all().all()
    export = pd.DataFrame({"value": value}, index=idx)
    raw = Forecast(
        history=pd.DataFrame(
            {"expected": value, "lower": value - 5, "upper": value + 5}, index=idx
        ),
        future=pd.DataFrame({"expected": [-3.0], "lower": [-9.0], "upper": [1.0]}),
        components=pd.DataFrame(),
        model="prophet",
    )
    assert floored(raw, export).future["lower"].iloc[0] == -9.0


def test_backtest_names_the_model_to_trust():
    """The model with the lowest error is named in words, against the runner-up; a baseline that
    wins comes with a warning."""
    table = pd.DataFrame(
        {
            "model": ["prophet", "lstm", "seasonal_naive"],
            "mae": [12.0, 15.0, 8.0],
            "mape": [9.0, 11.0, 6.0],
            "rmse": [15.0, 19.0, 10.0],
        }
    )
    model, sentence = trusted_model(table, "MW")
    assert model == "seasonal_naive"
    assert sentence.startswith(f"Trust {MODEL_NAMES['seasonal_naive']} for this meter")
    assert "8 MW" in sentence and "33 % below Prophet" in sentence and "with care" in sentence
    assert all("_" not in name for name in MODEL_NAMES.values())


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "start": pd.to_datetime(["2024-01-01 08:00", "2024-01-02 08:00", "2024-01-03 02:00"]),
            "end": pd.to_datetime(["2024-01-01 09:00", "2024-01-02 20:00", "2024-01-03 03:00"]),
            "duration_h": [2.0, 13.0, 2.0],
            "actual": [110.0, 300.0, 0.0],
            "expected": [100.0, 1000.0, 40.0],
            "excess": [10.0, -700.0, -40.0],
            "type": ["spike", "level_shift", "drop_to_zero"],
            "cause": ["1.1x the usual load", "level down", "reads zero"],
        }
    )


def test_events_table_reads_in_words_largest_impact_first():
    """Human type names, severity from the size of the change (1.1x is Low, a drop to zero High),
    the change in %, and the largest energy impact first; the index maps back to the events."""
    table = events_table(_events())
    assert list(table["type"]) == ["Level shift", "Drop to zero", "Spike"]
    assert list(table.index) == [1, 2, 0]
    assert list(table["severity"]) == ["High", "High", "Low"]
    assert table["change_pct"].round().tolist() == [-70.0, -100.0, 10.0]
    assert type_name("off_hours") == "Out-of-hours use"
    assert list(severity(_events())) == ["Low", "High", "High"]
    assert list(by_impact(_events())["excess"]) == [-700.0, -40.0, 10.0]


def test_over_and_under_use_are_counted_apart():
    """Over-use and under-use are summed apart with their signs (the page prices both)."""
    events = _events()
    idx = pd.date_range("2024-01-01", periods=24 * 7, freq="1h")
    counts = summary_counts(
        pd.DataFrame({"value": 1.0}, index=idx), pd.Series(False, index=idx), events, idx.freq
    )
    assert counts["over"] == 10.0 and counts["under"] == -740.0


def test_sigma_slider_ends_just_above_the_highest_score():
    """The slider's top is the highest score rounded up: its last step flags nothing, the one
    below it something; no data and outliers stay within 1.5 .. 8."""
    score = pd.Series([0.1, 1.2, 3.2905, np.nan])
    top = score_ceiling(score)
    assert top == pytest.approx(3.3)
    assert (score > top).sum() == 0 and (score > top - 0.1).sum() == 1
    assert score_ceiling(pd.Series([np.nan])) == 8.0
    assert score_ceiling(pd.Series([0.2])) == 1.5
    assert score_ceiling(pd.Series([40.0])) == 8.0


def test_pdf_has_a_top_n_by_impact_with_the_unit_and_words():
    """The PDF opens with the largest events by energy impact, its energy column carries the unit,
    and types and severities read as on the page."""
    import io

    from pypdf import PdfReader

    from core.charts.report import pdf_report

    pdf = pdf_report(title="r", dataset={}, settings={}, events=_events(), unit="kWh", top=2)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Top 2 by energy impact" in text and "energy (kWh)" in text
    top = text[text.index("Top 2") : text.index("Events (3")]
    assert "Level shift" in top and "Drop to zero" in top and "Spike" not in top
    assert "-700.0" in top and "High" in top and "level_shift" not in text


def test_carpet_plot_is_day_by_hour_with_anomalies_outlined():
    """One row per day, 24 hour columns of mean consumption; each cell with a flagged reading is
    outlined red; sixteen years fold into weeks so the picture stays readable."""
    from core.charts.carpet import carpet_figure
    from core.charts.style import ANOMALY_RED

    idx = pd.date_range("2024-01-01", periods=14 * 96, freq="15min")
    scored = pd.DataFrame({"value": np.where(idx.hour == 3, 50.0, 10.0)}, index=idx)
    flags = pd.Series(False, index=idx)
    flags.loc["2024-01-05 03:00":"2024-01-05 03:45"] = True  # one cell, four readings
    flags.loc["2024-01-09 22:15"] = True
    fig = carpet_figure(scored, flags, unit="kWh").to_dict()
    heat = next(t for t in fig["data"] if t["type"] == "heatmap")
    assert len(heat["z"]) == 14 and len(heat["z"][0]) == 24
    assert heat["z"][0][3] == 50.0 and heat["z"][0][4] == 10.0
    marks = next(t for t in fig["data"] if t.get("name") == "Anomalies")
    assert list(zip(marks["y"], marks["x"], strict=True)) == [("2024-01-05", 3), ("2024-01-09", 22)]
    assert marks["customdata"] == [4, 1] and marks["marker"]["color"] == ANOMALY_RED
    assert marks["marker"]["symbol"] == "square-open"
    weekly = carpet_figure(scored, flags, max_days=7).to_dict()
    assert (
        len(next(t for t in weekly["data"] if t["type"] == "heatmap")["z"]) == 2
    )  # two weeks from Monday 1 January


def test_too_many_flagged_readings_become_one_marker_per_event():
    """55,000 flagged readings in 500 events: one marker per event, on its highest score, its hover
    saying how many readings it stands for (every flagged reading counted once)."""
    idx = pd.date_range("2000-01-01", periods=1_000_000, freq="5min")
    rng = np.random.default_rng(5)
    scored = pd.DataFrame(
        {"value": rng.normal(10, 1, len(idx)), "score": rng.random(len(idx))}, index=idx
    )
    flags = pd.Series(False, index=idx)
    starts = np.sort(rng.choice(np.arange(0, len(idx) - 200, 1_000), 500, replace=False))
    for a in starts:
        flags.iloc[a : a + 110] = True
    events = pd.DataFrame(
        {
            "start": idx[starts],
            "end": idx[starts + 109],
            "type": "level_shift",
            "cause": "level up",
            "excess": 1.0,
        }
    )
    trace = _trace(anomaly_figure(scored, flags, events), "Anomalies")
    assert len(trace["x"]) == 500 == len(events)
    assert all(row[4] == "110 flagged readings in this event" for row in trace["customdata"])
    first = scored["score"].iloc[starts[0] : starts[0] + 110]
    assert pd.Timestamp(trace["x"][0]) == first.idxmax()


def test_a_files_own_labels_are_drawn_beside_the_flags():
    """A labelled file shows its labelled anomalies as their own trace, one cross per reading."""
    idx = pd.date_range("2024-01-01", periods=200, freq="1h")
    label = np.zeros(200)
    label[50:54] = 1
    scored = pd.DataFrame({"value": 1.0, "score": 0.1, "label": label}, index=idx)
    flags = pd.Series(False, index=idx)
    trace = _trace(anomaly_figure(scored, flags, None), "Labelled anomaly")
    assert len(trace["x"]) == 4 and trace["marker"]["symbol"] == "x-thin-open"
    assert "Labelled anomaly" not in [
        t.get("name") for t in anomaly_figure(scored.drop(columns="label"), flags).to_dict()["data"]
    ]


def test_year_on_year_lays_the_years_over_one_axis(long_scored):
    """Sixteen years: one line per year on a shared Jan-Dec axis, and a red dot per day with a
    flagged reading, so a summer peak every year reads as the season."""
    from core.charts.carpet import year_on_year_figure

    flags = pd.Series(False, index=long_scored.index)
    flags.loc["2010-07-04 10:00":"2010-07-04 12:00"] = True
    flags.loc["2015-01-02 03:00"] = True
    fig = year_on_year_figure(long_scored, flags, unit="MW").to_dict()
    years = [t for t in fig["data"] if t.get("mode") == "lines"]
    assert [t["name"] for t in years] == [str(y) for y in range(2002, 2019)]
    assert all(pd.Timestamp(x).year == 2000 for x in years[3]["x"][:5])
    dots = next(t for t in fig["data"] if t.get("name") == "Anomalies")
    assert dots["customdata"] == ["2010-07-04", "2015-01-02"]
