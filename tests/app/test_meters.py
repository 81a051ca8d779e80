"""Saved meters in the app: save an upload, reopen it after a restart with the same events, append
with conflicts (keep / replace / skip), delete, reload by URL, and database faults as one line.

Every test points ``WATTSUP_HOME`` at its own folder and empties Streamlit's caches (the store is
one ``st.cache_resource`` per process). The restart test runs each server "life" in a process of
its own (``python -m tests.app.test_meters PHASE``), so nothing but the database carries over.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.store.db import open_store
from core.store.meters import SqlMeterRepository
from core.store.runs import SqlRunRepository
from tests.app.conftest import (
    APP,
    REPO,
    TIMEOUT,
    detection,
    metric,
    open_page,
    plain,
    sidebar_text,
)

PAGE = "pages/3_anomaly_detection.py"
LEAD = REPO.parent / "shared" / "data" / "lead_dev" / "building_1074.csv"
METER = "building_1074"
RESTART_TIMEOUT_S = 600  # one cold process: imports, the upload's parse, a fit


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty WATTSUP_HOME, and no store or dataset cached from another test."""
    monkeypatch.setenv("WATTSUP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    monkeypatch.delenv("WATTSUP_DB_TIMEOUT_S", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield tmp_path / "home"
    st.cache_data.clear()
    st.cache_resource.clear()


def repo(home: Path) -> SqlMeterRepository:
    return SqlMeterRepository(open_store(home=home))


def session(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["detection_choice"] = detection()
    for key, value in state.items():
        at.session_state[key] = value
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="upload_file").upload(name, data, "text/csv")
    return ok(at.run())


def save(at: AppTest, name: str | None = None, into: str | None = None, policy: str = "keep"):
    """Press "Save as meter": into a new meter ``name``, or into the saved meter ``into``."""
    if into is not None:
        ok(at.selectbox(key="upload_save_target").set_value(into).run())
        ok(at.radio(key="upload_save_policy").set_value(policy).run())
    elif name is not None:
        box = next(t for t in at.text_input if t.label == "Meter name")
        ok(box.set_value(name).run())
    return ok(at.button(key="upload_save").click().run())


def hourly_csv(start: str, hours: int, changed: dict[int, float] | None = None) -> bytes:
    """``hours`` hourly readings from ``start``: value = hour of the day + 10 (one value per time,
    so overlapping files agree), except the hours since 2024-01-01 listed in ``changed``."""
    idx = pd.date_range(start, periods=hours, freq="h")
    lines = ["timestamp,kwh"]
    for t in idx:
        since = int((t - pd.Timestamp("2024-01-01")) / pd.Timedelta("1h"))
        lines.append(f"{t:%Y-%m-%d %H:%M},{(changed or {}).get(since, 10.0 + t.hour)}")
    return ("\n".join(lines) + "\n").encode()


def page_text(at: AppTest) -> str:
    blocks = [*at.markdown, *at.error, *at.warning, *at.info, *at.success, *at.caption]
    return plain("\n".join(str(b.value) for b in blocks)).replace("**", "")


# ---- a saved meter survives a restart -----------------------------------------------------------
def run_phase(phase: str, home: Path, out: Path) -> dict:
    """One server life in a fresh process: ``python -m tests.app.test_meters PHASE OUT``."""
    env = {**os.environ, "WATTSUP_HOME": str(home), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.app.test_meters", phase, str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=RESTART_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return json.loads(out.read_text())


def _phase_save() -> dict:
    """Upload the LEAD file, save it as a meter, and read the detection page's events."""
    at = session()
    ok(at.run())
    upload(at, LEAD.name, LEAD.read_bytes())
    save(at)
    ref = at.session_state["dataset_key"]
    found = _detection_counts(at)
    return {**found, "ref": [ref.source, ref.name], "url": dict(at.query_params)}


def _phase_reopen() -> dict:
    """A new server: the sidebar lists the meter; opening it shows the detection page's events."""
    at = session()
    ok(at.run())
    options = at.sidebar.selectbox(key="sidebar_dataset").options
    ok(at.sidebar.selectbox(key="sidebar_dataset").set_value(f"meter:{METER}").run())
    ref = at.session_state["dataset_key"]
    found = _detection_counts(at)
    return {**found, "ref": [ref.source, ref.name], "options": list(options)}


def _detection_counts(at: AppTest) -> dict:
    open_page(at, PAGE)
    captions = [plain(c.value) for c in at.caption]
    return {
        "events": metric(at, "Events"),
        "flagged": metric(at, "Flagged readings"),
        "last_run": next((c for c in captions if c.startswith("Last recorded run")), ""),
    }


def test_saved_meter_survives_a_restart_with_the_same_events(home: Path, tmp_path: Path) -> None:
    """Save an upload as a meter, stop the process, start another: the sidebar lists the meter and
    its detection page shows the same events, which were recorded as runs in the database."""
    first = run_phase("save", home, tmp_path / "first.json")
    assert first["ref"] == ["meter", METER] and first["url"] == {"meter": METER}
    assert int(first["events"].replace(",", "")) > 0
    assert first["last_run"].startswith("Last recorded run: none yet")

    second = run_phase("reopen", home, tmp_path / "second.json")
    assert f"{METER} (saved meter)" in second["options"]
    assert second["ref"] == ["meter", METER]
    assert (second["events"], second["flagged"]) == (first["events"], first["flagged"])
    assert f"{first['events']} events" in second["last_run"], second["last_run"]

    runs = SqlRunRepository(open_store(home=home)).runs(METER)
    assert len(runs) == 2  # one per process: the same setting, recorded once in each life
    assert {r.events for r in runs} == {int(first["events"].replace(",", ""))}
    assert runs[0].detector == "rolling_z" and runs[0].threshold["mode"] == "sigma"
    # the model the app fitted is in the registry, and the second process loaded that same one
    assert runs[0].model_id is not None and {r.model_id for r in runs} == {runs[0].model_id}


# ---- append, conflicts, delete ----------------------------------------------------------------
CONFLICT_HOURS = {
    50: 99.5,
    60: 98.5,
    70: 97.5,
}  # hours since 2024-01-01 that the newer file changes


@pytest.mark.parametrize("policy", ["keep", "replace", "skip"])
def test_appending_a_conflicting_file_reports_and_honours_the_choice(home: Path, policy) -> None:
    """A newer file overlapping a saved meter adds its new hours; readings stored with another
    value are reported with their times and kept, replaced or (skip) nothing is saved."""
    at = session()
    ok(at.run())
    upload(at, "first.csv", hourly_csv("2024-01-01", 72))
    save(at, name="site")
    assert repo(home).get("site").readings == 72

    newer = session()
    ok(newer.run())
    upload(newer, "newer.csv", hourly_csv("2024-01-02", 72, CONFLICT_HOURS))  # hours 24..95
    save(newer, into="site", policy=policy)
    text = page_text(newer)
    assert "Stored with another value: 3" in text, text
    for hour in CONFLICT_HOURS:
        assert str(pd.Timestamp("2024-01-01") + pd.Timedelta(hours=hour)) in text
    assert newer.warning and "conflict" in plain(newer.warning[0].value)

    stored = repo(home).load("site")["value"]
    times = [pd.Timestamp("2024-01-01") + pd.Timedelta(hours=h) for h in CONFLICT_HOURS]
    if policy == "skip":
        assert len(stored) == 72 and "nothing imported" in text
    else:
        assert len(stored) == 96 and "Added: 24 readings" in text
        as_stored = [10.0 + hour % 24 for hour in CONFLICT_HOURS]
        expected = list(CONFLICT_HOURS.values()) if policy == "replace" else as_stored
        assert stored.loc[times].tolist() == expected
    ref = newer.session_state["dataset_key"]
    assert (ref.source, ref.name) == ("meter", "site")
    assert metric(newer, "Rows") == "72"  # the page still shows the file it was given


def test_reopened_meter_follows_its_readings(home: Path) -> None:
    """After an append the current meter is opened at its new revision: the sidebar shows the
    longer series, so no cache keyed on the old readings is served for it."""
    at = session()
    ok(at.run())
    upload(at, "first.csv", hourly_csv("2024-01-01", 72))
    save(at, name="site")
    before = at.session_state["dataset_key"]
    upload(at, "newer.csv", hourly_csv("2024-01-03", 72))
    save(at, into="site")
    after = at.session_state["dataset_key"]
    assert after.name == before.name and after.digest != before.digest
    assert "Rows: **120**" in sidebar_text(at)


def test_a_meter_saved_into_by_another_session_is_reopened(home: Path) -> None:
    """Another session appends to the meter this one shows: once this session's cached dataset is
    gone it opens the meter again at its new revision (never old caches for new readings)."""
    at = session()
    ok(at.run())
    upload(at, "first.csv", hourly_csv("2024-01-01", 72))
    save(at, name="site")
    before = at.session_state["dataset_key"]
    other = session()
    ok(other.run())
    upload(other, "newer.csv", hourly_csv("2024-01-03", 72))
    save(other, into="site")
    st.cache_data.clear()  # evicted: the dataset must be read from the database again
    ok(at.run())
    after = at.session_state["dataset_key"]
    assert (after.name, after.source) == ("site", "meter") and after.digest != before.digest
    assert "Rows: **120**" in sidebar_text(at) and not at.error


def test_delete_asks_for_confirmation_and_removes_the_meter(home: Path) -> None:
    """Delete is disabled until confirmed; then the meter and its readings are gone, the sidebar no
    longer lists it and the current dataset is the default sample again."""
    at = session()
    ok(at.run())
    upload(at, "first.csv", hourly_csv("2024-01-01", 72))
    save(at, name="site")
    assert "site (saved meter)" in at.sidebar.selectbox(key="sidebar_dataset").options
    assert at.button(key="upload_delete").disabled
    ok(at.selectbox(key="upload_delete_meter").set_value("site").run())
    ok(at.checkbox(key="upload_delete_sure_site").check().run())
    ok(at.button(key="upload_delete").click().run())
    assert repo(home).names() == []
    assert "Deleted meter site and its 72 readings." in page_text(at)
    assert "site (saved meter)" not in at.sidebar.selectbox(key="sidebar_dataset").options
    assert at.session_state["dataset_key"].source == "sample"
    assert "meter" not in dict(at.query_params)


# ---- reload (a new session on the same URL) --------------------------------------------------
def test_reload_opens_the_dataset_the_url_names(home: Path) -> None:
    """A new session on ``?meter=NAME`` opens the saved meter; ``?sample=KEY`` a bundled sample;
    a meter that is not there is one warning line and the default sample."""
    at = session()
    ok(at.run())
    upload(at, "first.csv", hourly_csv("2024-01-01", 72))
    save(at, name="site")
    assert dict(at.query_params) == {"meter": "site"}

    reloaded = session()
    reloaded.query_params["meter"] = "site"
    ok(reloaded.run())
    ref = reloaded.session_state["dataset_key"]
    assert (ref.source, ref.name) == ("meter", "site")
    assert "Name: **site**" in sidebar_text(reloaded)

    sample = session()
    sample.query_params["sample"] = "uk_demand"
    ok(sample.run())
    assert sample.session_state["dataset_key"].name == "uk_demand"

    gone = session()
    gone.query_params["meter"] = "nowhere"
    ok(gone.run())
    assert gone.session_state["dataset_key"].source == "sample"
    warnings = [plain(w.value) for w in gone.sidebar.warning]
    assert len(warnings) == 1 and "nowhere" in warnings[0] and "\n" not in warnings[0]


def test_a_reload_after_an_upload_keeps_it_while_the_server_holds_it(home: Path) -> None:
    """An upload in use is named by a token in the URL: a reload on the same server opens it."""
    at = session()
    ok(at.run())
    upload(at, "first.csv", hourly_csv("2024-01-01", 72))
    assert at.session_state["dataset_key"].source == "upload"  # current at once, no click
    token = dict(at.query_params).get("dataset")
    assert token
    reloaded = session()
    reloaded.query_params["dataset"] = token
    ok(reloaded.run())
    ref = reloaded.session_state["dataset_key"]
    assert (ref.source, ref.name) == ("upload", "first.csv")


def test_an_upload_in_use_outlives_other_peoples_uploads(home: Path) -> None:
    """Other sessions' uploads push a file out of the shared in-memory store; the session that uses
    it keeps its own copy, so its pages never lose the dataset."""
    import core.ui.cache as cache

    at = session()
    ok(at.run())
    upload(at, "mine.csv", hourly_csv("2024-01-01", 72))
    assert at.session_state["dataset_key"].source == "upload"  # current at once, no click
    digest = at.session_state["dataset_key"].digest
    for i in range(cache.MAX_UPLOADS + 1):  # other people's files
        cache.remember_upload(f"other {i}".encode(), f"other{i}.csv")
    assert not cache.upload_held(digest)
    st.cache_data.clear()  # the parsed dataset is gone too: it must be rebuilt from the bytes
    open_page(at, PAGE)
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["dataset_key"].name == "mine.csv"


# ---- database faults ----------------------------------------------------------------------------
def test_a_locked_database_is_one_line_on_save(home: Path, monkeypatch) -> None:
    """Another process holding the write lock past the timeout: Save says so in one line."""
    monkeypatch.setenv("WATTSUP_DB_TIMEOUT_S", "0.3")
    at = session()
    ok(at.run())
    upload(at, "first.csv", hourly_csv("2024-01-01", 72))
    save(at, name="site")  # creates the database
    holder = sqlite3.connect(home / "wattsup.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        upload(at, "newer.csv", hourly_csv("2024-01-03", 72))
        save(at, into="site")
    finally:
        holder.close()
    errors = [plain(e.value) for e in at.error]
    assert len(errors) == 1 and "locked by another process" in errors[0], errors
    assert "\n" not in errors[0] and "Traceback" not in errors[0]
    assert repo(home).get("site").readings == 72  # nothing half-written


def test_a_damaged_database_is_one_line(home: Path) -> None:
    """A file that is not a database where the store should be: the sidebar and the Upload page say
    so in one line each; the pages still work on the bundled samples."""
    home.mkdir(parents=True)
    (home / "wattsup.db").write_bytes(b"this is not a database" * 100)
    at = session()
    ok(at.run())
    lines = [plain(w.value) for w in at.sidebar.warning] + [plain(e.value) for e in at.error]
    assert len(lines) == 2 and all("not a database" in line for line in lines), lines
    assert all("\n" not in line for line in lines)
    open_page(at, PAGE)
    assert int(metric(at, "Flagged readings").replace(",", "")) >= 0


# ---- the phases of the restart test, each in its own process -----------------------------------
def _main(phase: str, out: str) -> None:
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):  # as tests/app/conftest.py: no legacy pages/ mode
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    result = {"save": _phase_save, "reopen": _phase_reopen}[phase]()
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
