"""/detect/last learns from the whole days before the newest reading's: one fit a day per device."""

from __future__ import annotations

import pandas as pd

from core.api.stateless import refit_period, settled_history
from core.detect.meters import readings_digest


def _series(start: str, points: int) -> pd.DataFrame:
    idx = pd.date_range(start, periods=points, freq="h", tz="UTC", name="timestamp")
    return pd.DataFrame({"value": range(points)}, index=idx, dtype=float)


def test_a_sliding_window_keeps_one_history_through_the_day() -> None:
    """Windows of 672 hours ending at 00:00 .. 23:00 of one day share one history (one digest);
    the next midnight moves it on by a day."""
    year = _series("2024-01-01", 24 * 40)
    digests = set()
    for end in range(24 * 30, 24 * 31):
        window = year.iloc[end - 671 : end + 1]
        history = settled_history(window, pd.Timedelta("1h"), 48)
        assert history.index[-1] < window.index[-1].normalize()
        assert len(history) % 24 == 0 and history.index[0].hour == 0
        digests.add(readings_digest("history", history))
    assert len(digests) == 1
    nxt = settled_history(year.iloc[24 * 31 - 671 : 24 * 31 + 1], pd.Timedelta("1h"), 48)
    assert readings_digest("history", nxt) not in digests


def test_a_short_series_learns_from_every_reading_before_the_newest() -> None:
    """Under min_points whole-day readings, the history is all but the newest reading."""
    window = _series("2024-01-01 05:00", 60)
    assert len(settled_history(window, pd.Timedelta("1h"), 48)) == 59


def test_refit_period_is_a_day_or_24_steps() -> None:
    """Hourly and finer series refit daily; a daily series every 24 days."""
    assert refit_period(pd.Timedelta("15min")) == pd.Timedelta("1D")
    assert refit_period(pd.Timedelta("1D")) == pd.Timedelta("24D")


def test_each_detection_turn_ends_by_freezing_what_it_imported(tmp_path, monkeypatch) -> None:
    """A full garbage collection of every module object cost ~120 ms inside a call: the API
    hands newly imported modules to ``gc.freeze`` after each turn (``core.memory``)."""
    import warnings

    import core.api.stored as stored
    from core.api.app import create_app
    from core.store.db import open_store

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's TestClient deprecation note
        from fastapi.testclient import TestClient

    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path))
    monkeypatch.setenv("WATTSUP_MODELS_DIR", str(tmp_path / "models"))
    calls = []
    monkeypatch.setattr(stored, "freeze_imports", lambda: calls.append(1) or False)
    series = [
        {"timestamp": f"2024-01-{1 + h // 24:02d}T{h % 24:02d}:00:00Z", "value": 40.0 + h % 24}
        for h in range(24 * 7)
    ]
    store = open_store(home=tmp_path)
    try:
        with TestClient(create_app(store)) as client:
            assert client.post("/v1/detect/last", json={"series": series}).status_code == 200
    finally:
        store.close()
    assert calls
