"""The Portfolio page's table and top-wasters chart: structure, order, links (no page needed)."""

from __future__ import annotations

import pandas as pd

from core.charts.fleet_charts import (
    TABLE_COLUMNS,
    filter_options,
    filtered,
    meter_link,
    portfolio_table,
    top_wasters_figure,
)
from core.charts.style import ANOMALY_RED
from core.fleet.portfolio import with_cost

ROWS = pd.DataFrame(
    {
        "meter": ["a b", "c", "dead"],
        "site": ["1", "2", None],
        "building_type": ["Office", "Education", None],
        "unit": ["kWh", "MW", None],
        "excess_over_kwh": [10.0, 400.0, None],
        "excess_under_kwh": [5.0, 0.0, None],
        "anomaly_hours": [3.0, 20.0, None],
        "events": [2, 5, None],
        "open_events": [0, 1, None],
        "worst_type": ["spike", "flat", None],
        "worst_cause": ["x", "y", None],
        "missing_share": [0.0, 0.25, None],
        "flat_runs": [0, 2, None],
        "last_reading": [
            pd.Timestamp("2024-01-02", tz="Europe/Paris"),
            pd.Timestamp("2024-01-03"),
            None,
        ],
        "sparkline": [[1.0, float("nan"), 2.0], [3.0], None],
        "error": [None, None, "dead.csv is empty"],
    }
)


def test_table_is_costliest_first_with_links_and_sparklines() -> None:
    table = portfolio_table(with_cost(ROWS, 0.5))
    assert tuple(table.columns) == TABLE_COLUMNS
    assert table["meter"].tolist() == ["c", "a b", "dead"]  # failures last
    assert table["open"].tolist()[:2] == [
        "anomaly_detection?meter=c",
        "anomaly_detection?meter=a%20b",
    ]
    assert table.loc[1, "sparkline"] == [1.0, 2.0]  # a day without readings is left out
    assert (
        table.loc[0, "worst"] == "Flat line (stuck meter?)" and table.loc[0, "missing_pct"] == 25.0
    )
    assert table.loc[0, "cost"] == 200.0
    assert table.loc[1, "last_reading"] == pd.Timestamp("2024-01-02")  # each meter's wall clock


def test_filters_by_site_type_and_unit() -> None:
    assert filter_options(ROWS) == {
        "site": ["1", "2"],
        "building_type": ["Education", "Office"],
        "unit": ["MW", "kWh"],
    }
    assert filtered(ROWS, {"site": ["2"], "unit": []})["meter"].tolist() == ["c"]
    assert len(filtered(ROWS, {"site": [], "building_type": []})) == 3


def test_top_wasters_bars_largest_on_top() -> None:
    fig = top_wasters_figure(with_cost(ROWS, 0.5), n=5).to_dict()
    (bar,) = fig["data"]
    assert bar["type"] == "bar" and bar["orientation"] == "h"
    assert list(bar["y"]) == ["a b", "c"] and list(bar["x"]) == [
        5.0,
        200.0,
    ]  # plotly draws bottom up
    assert bar["marker"]["color"] == ANOMALY_RED
    assert "Flat line" in bar["hovertext"][1]


def test_meter_link_escapes_the_name() -> None:
    assert meter_link("hall/1 & 2") == "anomaly_detection?meter=hall%2F1%20%26%202"
