"""Charts are pure data -> Figure functions; these tests read the figure's structure, never pixels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.charts.forecast import components_figure, forecast_figure
from core.charts.series import anomaly_figure, point_events, series_figure
from core.charts.style import ANOMALY_RED, display_positions, theme_template
from tests.conftest import inject_anomalies, synthetic_frame


def _scored(n_days: int = 42, freq: str = "1h") -> tuple[pd.DataFrame, pd.Series]:
    frame, labels = inject_anomalies(synthetic_frame(n_days=n_days, freq=freq))
    scored = frame.copy()
    scored["expected"] = scored["value"].rolling(24, min_periods=1).median()
    scored["lower"] = scored["expected"] - 5
    scored["upper"] = scored["expected"] + 5
    scored["score"] = (scored["value"] - scored["expected"]).abs() / 5
    return scored, labels.astype(bool)


def _events(flags: pd.Series) -> pd.DataFrame:
    idx = flags.index[flags.to_numpy()]
    return pd.DataFrame(
        {
            "start": [idx[0]],
            "end": [idx[3]],
            "type": ["spike"],
            "cause": ["=HYPERLINK() usage far above the usual"],
            "excess": [12.0],
            "n_points": [4],
        }
    )


def _trace(fig, name):
    found = [t for t in fig.to_dict()["data"] if t.get("name") == name]
    assert len(found) == 1, f"expected one trace named {name!r}"
    return found[0]


def test_anomaly_trace_is_red_with_one_marker_per_flag():
    """The "Anomalies" trace is red and holds exactly the flagged points."""
    scored, flags = _scored()
    fig = anomaly_figure(scored, flags, _events(flags), unit="kWh")
    trace = _trace(fig, "Anomalies")
    assert trace["marker"]["color"] == ANOMALY_RED == "#d62728"
    assert trace["mode"] == "markers"
    assert len(trace["x"]) == int(flags.sum())


def test_long_series_is_downsampled_but_every_anomaly_is_drawn():
    """350k points: the line is downsampled to the display budget, the anomaly markers are not."""
    n = 350_000
    idx = pd.date_range("2020-01-01", periods=n, freq="1min", name="timestamp")
    rng = np.random.default_rng(1)
    value = np.sin(np.arange(n) / 500) + rng.normal(0, 0.1, n)
    scored = pd.DataFrame({"value": value, "score": np.abs(value)}, index=idx)
    flags = pd.Series(False, index=idx)
    flags.iloc[rng.choice(n, 5000, replace=False)] = True
    fig = anomaly_figure(scored, flags, None, max_points=4000)
    assert len(_trace(fig, "Actual")["x"]) <= 4000
    assert len(_trace(fig, "Anomalies")["x"]) == 5000


def test_display_positions_keeps_extremes():
    """MinMaxLTTB keeps the single largest spike of a long series."""
    n = 100_000
    idx = pd.date_range("2021-01-01", periods=n, freq="15min")
    y = np.zeros(n)
    y[54321] = 99.0
    pos = display_positions(idx, y, 1000)
    assert 54321 in pos and len(pos) <= 1000


def test_hover_carries_expected_score_type_and_cause():
    """Each anomaly marker carries expected, score, event type and cause for the hover text."""
    scored, flags = _scored()
    events = _events(flags)
    trace = _trace(anomaly_figure(scored, flags, events), "Anomalies")
    first = trace["customdata"][0]
    assert first[2] == "spike" and first[3].startswith("=HYPERLINK")
    for word in ("expected", "score", "type"):
        assert word in trace["hovertemplate"]


def test_events_are_red_shaded_spans_and_toggle_hides_them():
    """Events become red vrect shapes; turning anomalies off removes markers and shading."""
    scored, flags = _scored()
    events = _events(flags)
    fig = anomaly_figure(scored, flags, events)
    shapes = fig.to_dict()["layout"].get("shapes", [])
    assert len(shapes) == 1 and "214, 39, 40" in shapes[0]["fillcolor"]
    off = anomaly_figure(scored, flags, events, show_anomalies=False).to_dict()
    assert not [t for t in off["data"] if t.get("name") == "Anomalies"]
    assert not off["layout"].get("shapes")


def test_band_and_expected_present_when_scored_has_them():
    """The expected line and its band appear when the scored frame has them."""
    scored, flags = _scored()
    names = [t.get("name") for t in anomaly_figure(scored, flags).to_dict()["data"]]
    assert "Expected" in names and "Expected range" in names
    bare = scored[["value", "score"]]
    names = [t.get("name") for t in anomaly_figure(bare, flags).to_dict()["data"]]
    assert "Expected" not in names


def test_point_events_maps_points_inside_events_only():
    """A point inside an event gets its type; one outside gets an empty string."""
    idx = pd.date_range("2024-01-01", periods=10, freq="1h")
    events = pd.DataFrame({"start": [idx[2]], "end": [idx[4]], "type": ["dip"], "cause": ["low"]})
    out = point_events(idx, events)
    assert list(out["type"]) == ["", "", "dip", "dip", "dip", "", "", "", "", ""]


def test_series_figure_adds_temperature_axis():
    """Temperature goes on a second y axis when the frame has it."""
    fig = series_figure(synthetic_frame(), unit="kWh").to_dict()
    names = [t["name"] for t in fig["data"]]
    assert names == ["Consumption", "Temperature"]
    assert fig["data"][1]["yaxis"] == "y2"


def test_forecast_figure_has_band_prophet_and_lstm():
    """Forecast shows actuals, the band, Prophet and the LSTM overlay."""
    idx = pd.date_range("2024-01-01", periods=200, freq="1h")
    hist = pd.DataFrame({"expected": 1.0, "lower": 0.5, "upper": 1.5}, index=idx[:150])
    fut = pd.DataFrame({"expected": 1.0, "lower": 0.4, "upper": 1.6}, index=idx[150:])
    actual = pd.Series(1.1, index=idx[:150])
    lstm = pd.DataFrame({"expected": 0.9, "lower": 0.1, "upper": 2.0}, index=idx[150:])
    fig = forecast_figure(hist, actual, fut, lstm=lstm).to_dict()
    names = [t.get("name") for t in fig["data"]]
    for name in ("Actual", "Prophet forecast", "LSTM forecast", "Uncertainty band"):
        assert name in names
    assert len(_trace(forecast_figure(hist, actual, fut), "Prophet forecast")["x"]) == 200


def test_components_figure_profiles_seasonal_parts():
    """Trend over time; daily as 24 hourly means (active rows only); weekly over seven days."""
    idx = pd.date_range("2024-01-01", periods=24 * 21, freq="1h")
    weekday = np.where(idx.dayofweek < 5, np.sin(idx.hour / 24 * 2 * np.pi), 0.0)
    comps = pd.DataFrame(
        {
            "weekly": np.cos(idx.dayofweek),
            "trend": np.arange(len(idx)) / 100,
            "daily_weekday": weekday,
        },
        index=idx,
    )
    fig = components_figure(comps)
    titles = [a["text"] for a in fig.to_dict()["layout"]["annotations"]]
    assert titles == ["trend", "daily weekday", "weekly"]
    daily = fig.data[1]  # numeric arrays: read the trace objects (to_dict packs them as bdata)
    assert len(daily.x) == 24 and max(daily.y) > 0.9  # weekend zeros not averaged in
    assert max(fig.data[2].x) < 7


@pytest.mark.parametrize(
    ("theme", "template"),
    [("dark", "plotly_dark"), ("light", "plotly_white"), (None, "plotly_white")],
)
def test_theme_template(theme, template):
    """The Plotly template follows Streamlit's theme type."""
    assert theme_template(theme) == template
