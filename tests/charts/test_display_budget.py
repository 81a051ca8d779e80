"""What the anomaly chart sends the browser: markers bounded, times plotly writes as they are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.charts.series import anomaly_figure
from core.charts.style import MAX_MARKERS, json_times, marker_positions


def _trace(fig, name: str) -> dict:
    found = [t for t in fig.to_dict()["data"] if t.get("name") == name]
    assert len(found) == 1
    return found[0]


def _scored(n: int, freq: str = "1min", tz: str | None = None) -> pd.DataFrame:
    idx = pd.date_range("2021-03-27", periods=n, freq=freq, tz=tz, name="timestamp")
    rng = np.random.default_rng(3)
    value = np.sin(np.arange(n) / 300) + rng.normal(0, 0.1, n)
    return pd.DataFrame({"value": value, "score": np.abs(rng.normal(0, 1, n))}, index=idx)


def test_markers_past_the_budget_keep_one_per_stretch_on_its_highest_score():
    """60,000 flagged readings become at most MAX_MARKERS markers; each stands for the flagged
    readings of its stretch, sits on the highest score there, and says how many it stands for."""
    scored = _scored(400_000)
    flags = pd.Series(False, index=scored.index)
    flags.iloc[np.random.default_rng(4).choice(len(scored), 60_000, replace=False)] = True
    trace = _trace(anomaly_figure(scored, flags, None), "Anomalies")
    assert 0 < len(trace["x"]) <= MAX_MARKERS
    assert "customdata[4]" in trace["hovertemplate"]
    assert any(row[4].endswith("flagged readings in this stretch") for row in trace["customdata"])

    hit = scored.loc[flags.to_numpy()]
    keep, counts = marker_positions(hit.index, hit["score"].to_numpy())
    assert counts.sum() == len(hit)  # every flagged reading is counted by exactly one marker
    t = hit.index.asi8
    stretch = ((t - t[0]) / (t[-1] - t[0]) * MAX_MARKERS).astype(int).clip(0, MAX_MARKERS - 1)
    best = hit["score"].groupby(stretch).max()
    assert np.allclose(hit["score"].to_numpy()[keep], best.to_numpy())  # the top of each stretch


def test_markers_within_the_budget_are_one_per_flag():
    """Up to MAX_MARKERS, every flagged reading keeps its own marker and the hover is unchanged."""
    scored = _scored(20_000)
    flags = scored["score"] > 2.5
    trace = _trace(anomaly_figure(scored, flags, None), "Anomalies")
    assert len(trace["x"]) == int(flags.sum()) > 0
    assert "customdata[4]" not in trace["hovertemplate"]


@pytest.mark.parametrize("tz", ["Europe/London", "America/New_York", "Asia/Kolkata", "UTC"])
def test_aware_times_are_written_as_plotly_writes_them(tz):
    """Aware times become the ISO strings plotly itself would write (offset included, across a
    daylight-saving change); naive ones stay datetime64, which its JSON encoder writes as is."""
    idx = pd.date_range("2021-03-27", periods=500, freq="15min", tz=tz)
    assert json_times(idx) == [ts.isoformat() for ts in idx]
    naive = json_times(idx.tz_localize(None))
    assert isinstance(naive, np.ndarray) and naive.dtype.kind == "M"


def test_figure_takes_plotlys_fast_json_path():
    """The whole anomaly figure (band, markers with hover data, event shading, a zoom) is
    serialisable by orjson as it is, so st.plotly_chart never walks it object by object."""
    orjson = pytest.importorskip("orjson")
    for tz in (None, "Europe/Rome"):
        scored = _scored(5_000, freq="1h", tz=tz)
        scored["expected"] = scored["value"].rolling(24, min_periods=1).median()
        scored["lower"], scored["upper"] = scored["expected"] - 1, scored["expected"] + 1
        flags = scored["score"] > 2.0
        hit = scored.index[flags.to_numpy()]
        events = pd.DataFrame(
            {"start": hit[:5], "end": hit[:5], "type": "spike", "cause": "=x", "excess": 1.0}
        )
        fig = anomaly_figure(scored, flags, events, x_range=(hit[0], hit[10]))
        opts = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
        orjson.dumps(fig.to_dict(), option=opts)  # raises TypeError on anything it cannot write
