"""The pure parts: fingerprints, rule validation, selectors, quiet time, silences, look-back,
grouping, and the message text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from core.alerts.delivery import Outcome, RetryPolicy, deliver, register_secret, scrub
from core.alerts.message import EventText, compose, energy_line
from core.alerts.rules import (
    fingerprint,
    groups,
    in_lookback,
    in_quiet_time,
    new_rule,
    new_silence,
    parse_selector,
    rule_matches,
    selects,
    silencing,
)
from core.errors import DataError
from core.store.records import Meter

METER = Meter(1, "hall-7", None, "kWh", "Europe/Amsterdam", None, "Campus", "office", (), None)
EVENT = {"type": "spike", "peak_score": 5.0, "excess": 2_000.0, "duration_h": 2.0}


def test_fingerprint_is_meter_start_type_and_owner():
    """Same inputs, same id; any part changed, another id."""
    base = fingerprint(None, "hall-7", 1_000, "spike")
    assert base == fingerprint(None, "hall-7", 1_000, "spike") and len(base) == 24
    others = {
        fingerprint("org", "hall-7", 1_000, "spike"),
        fingerprint(None, "hall-8", 1_000, "spike"),
        fingerprint(None, "hall-7", 2_000, "spike"),
        fingerprint(None, "hall-7", 1_000, "dip"),
    }
    assert base not in others and len(others) == 4


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"channels": []}, "at least one channel"),
        ({"channels": ["c"], "types": ["boom"]}, "types: boom unknown"),
        ({"channels": ["c"], "quiet_hours": "25:00-01:00"}, "quiet hours"),
        ({"channels": ["c"], "quiet_days": ["funday"]}, "quiet days"),
        ({"channels": ["c"], "min_score": -1}, "min score"),
        ({"channels": ["c"], "repeat_interval": "soon"}, "repeat interval"),
    ],
)
def test_bad_rules_are_one_line(kwargs, words):
    """Each bad field: a DataError naming it."""
    with pytest.raises(DataError, match=words):
        new_rule("r", **kwargs)


def test_selectors_and_matching():
    """all / list / site / type pick the right meters; thresholds and types filter events."""
    assert parse_selector("all") == ("all", ())
    assert parse_selector("a,b") == ("list", ("a", "b"))
    assert parse_selector("site:Campus") == ("site", ("Campus",))
    assert selects("site", ("Campus",), METER) and selects("type", ("office",), METER)
    assert not selects("list", ("hall-8",), METER)
    rule = new_rule("r", channels=["c"], min_score=4, min_excess=1.5, types="spike")
    assert rule_matches(rule, METER, EVENT, "Wh")  # 2,000 Wh = 2 kWh >= 1.5
    assert not rule_matches(rule, METER, {**EVENT, "excess": 1_000.0}, "Wh")
    assert not rule_matches(rule, METER, {**EVENT, "type": "dip"}, "Wh")
    assert not rule_matches(new_rule("r", channels=["c"], min_duration_h=3), METER, EVENT, "kWh")


def test_quiet_hours_wrap_midnight_in_the_meters_zone():
    """22:00-06:00 Amsterdam: 23:30 local is quiet, 12:00 is not; weekend days are quiet."""
    rule = new_rule("r", channels=["c"], quiet_hours="22:00-06:00", quiet_days="sun")
    assert in_quiet_time(rule, datetime(2026, 3, 2, 22, 30, tzinfo=UTC), METER.timezone)
    assert not in_quiet_time(rule, datetime(2026, 3, 2, 11, 0, tzinfo=UTC), METER.timezone)
    assert in_quiet_time(rule, datetime(2026, 3, 1, 11, 0, tzinfo=UTC), METER.timezone)  # Sunday


def test_silences_match_meters_types_and_time():
    """A silence mutes its meters and types between its start and end only."""
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    s = new_silence("hall-7", until="1h", now=now, types="spike")
    assert silencing([s], METER, "spike", now + timedelta(minutes=5)) is s
    assert silencing([s], METER, "dip", now) is None
    assert silencing([s], METER, "spike", now + timedelta(hours=2)) is None
    with pytest.raises(DataError, match="until"):
        new_silence("all", until="yesterday", now=now)


def test_lookback_and_groups():
    """Look-back keeps open and recent events; groups join starts within group_wait."""
    hour = 3_600_000_000
    assert in_lookback(0, True, 100 * hour, 3600)
    assert not in_lookback(0, False, 100 * hour, 24 * 3600)
    assert in_lookback(90 * hour, False, 100 * hour, 24 * 3600)
    assert groups([0, hour, 5 * hour, 5 * hour + 1], 3600) == [[0, 1], [2, 3]]
    assert groups([0, hour], 0) == [[0], [1]]


def test_message_names_energy_cost_cause_and_link(monkeypatch):
    """The text carries meter, when, energy above/below with cost, the cause and the app link."""
    monkeypatch.setenv("WATTSUP_APP_URL", "https://app.example.org/")
    start = pd.Timestamp("2026-03-02 08:00", tz="Europe/Amsterdam")
    e = EventText(
        "hall 7",
        "drop_to_zero",
        start,
        start + pd.Timedelta("3h"),
        True,
        7.1,
        -40.0,
        "kWh",
        "Zero for 3 h.",
        0.25,
    )
    assert energy_line(e) == "40.0 kWh below expected (cost 10.00 at 0.25 per kWh)"
    subject, body = compose([e], "firing", rule="r")
    assert subject == "[WattsUp] drop to zero on hall 7 from 2026-03-02 08:00 CET"
    assert "Zero for 3 h." in body and "still open" in body
    assert "https://app.example.org/anomaly_detection?meter=hall%207" in body


class _Flaky:
    def __init__(self, fails: int) -> None:
        self.fails, self.calls = fails, 0

    def send(self, url, subject, body):
        self.calls += 1
        return Outcome(self.calls > self.fails, None if self.calls > self.fails else "HTTP 500")


def test_deliver_retries_with_growing_backoff():
    """Fails twice then works: three tries, pauses doubling; all failing: the last error."""
    pauses: list[float] = []
    outcome, tries = deliver(
        _Flaky(2), "json://x/y", "s", "b", RetryPolicy(3, 0.5), sleep=pauses.append
    )
    assert outcome.ok and tries == 3 and pauses == [0.5, 1.0]
    outcome, tries = deliver(
        _Flaky(9), "json://x/y", "s", "b", RetryPolicy(2, 0.0), sleep=pauses.append
    )
    assert not outcome.ok and outcome.error == "HTTP 500" and tries == 2


def test_scrub_hides_registered_secret_parts():
    """Every secret part of a registered URL is masked in any text."""
    register_secret("slack://TOKENA1/TOKENB2/TOKENC3?pw=hunter22")
    text = scrub("posting to https://hooks.slack.com/services/TOKENA1/TOKENB2/TOKENC3 pw=hunter22")
    assert all(t not in text for t in ("TOKENA1", "TOKENB2", "TOKENC3", "hunter22"))
