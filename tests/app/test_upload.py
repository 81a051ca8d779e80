"""Upload page: samples and files become the current dataset; problems read as one line, not a traceback."""

from __future__ import annotations

from tests.app.conftest import app, metric


def test_sample_shows_report_and_becomes_current():
    """Picking a bundled sample shows its quality report; "Use this dataset" makes it current."""
    at = app()
    at.selectbox(key="upload_sample").set_value("uk_demand").run()
    assert not at.exception
    assert metric(at, "Rows") == "4,032"
    assert metric(at, "Step") == "30 min"
    headings = " ".join(m.value for m in at.markdown)
    assert "What cleaning changed" in headings and "Warnings" in headings
    at.button(key="upload_use").click().run()
    assert at.session_state["dataset_key"].name == "uk_demand"
    assert any("is the current dataset" in s.value for s in at.success)


def test_resample_changes_rows():
    """Resampling the hourly default sample to one day gives one row per day."""
    at = app()
    at.selectbox(key="upload_sample").set_value("polito_building").run()
    resample = [s for s in at.selectbox if s.label == "Resample to"][0]
    resample.set_value("1 day").run()
    assert not at.exception
    assert metric(at, "Rows") == "365"
    assert metric(at, "Step") == "1 d"


def test_uploaded_file_becomes_current(lead_bytes):
    """An uploaded LEAD file is parsed (labels found) and can be used by every page."""
    name, data = lead_bytes
    at = app()
    at.file_uploader(key="upload_file").upload(name, data, "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric(at, "Rows") == "8,784"
    at.button(key="upload_use").click().run()
    ref = at.session_state["dataset_key"]
    assert ref.source == "upload" and ref.name == name and len(ref.digest) == 64


def test_bad_file_gives_one_line_error_and_hint():
    """A file without a timestamp column gives st.error with one line and a hint, no exception."""
    at = app()
    at.file_uploader(key="upload_file").upload("bad.csv", b"a,b\nx,1\ny,2\n", "text/csv")
    at.run()
    assert not at.exception
    assert at.error and "\n" not in at.error[0].value.strip()
    assert at.info and "timestamp" in at.info[0].value
