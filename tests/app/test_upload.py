"""Upload page: samples and files become the current dataset; problems read as one line, not a traceback."""

from __future__ import annotations

import pytest

from core.ui.text import md_escape
from tests.app.conftest import app, metric, sidebar_markdown


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
    """An uploaded LEAD file is parsed (labels found) and becomes the current dataset of every
    page at once: no extra click, so going straight to Anomaly detection analyses it."""
    name, data = lead_bytes
    at = app()
    at.file_uploader(key="upload_file").upload(name, data, "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric(at, "Rows") == "8,784"
    assert at.button(key="upload_use").disabled  # nothing left to click
    assert any("is the current dataset" in s.value for s in at.success)
    ref = at.session_state["dataset_key"]
    assert ref.source == "upload" and ref.name == name and len(ref.digest) == 64


def test_use_this_dataset_brings_an_upload_back_after_a_sample(lead_bytes):
    """Made current by itself once; after another dataset was picked, the button brings it back."""
    name, data = lead_bytes
    at = app()
    at.file_uploader(key="upload_file").upload(name, data, "text/csv")
    at.run()
    from core.ui.cache import DatasetRef

    at.session_state["dataset_key"] = DatasetRef.sample("uk_demand")
    at.run()
    assert not at.exception
    assert at.session_state["dataset_key"].name == "uk_demand"  # not taken back without a click
    at.button(key="upload_use").click().run()
    assert at.session_state["dataset_key"].name == name


def test_bad_file_gives_one_line_error_and_hint():
    """A file without a timestamp column gives st.error with one line and a hint, no exception."""
    at = app()
    at.file_uploader(key="upload_file").upload("bad.csv", b"a,b\nx,1\ny,2\n", "text/csv")
    at.run()
    assert not at.exception
    assert at.error and "\n" not in at.error[0].value.strip()
    assert at.info and "timestamp" in at.info[0].value


def hourly_csv(header: str, n: int = 72) -> bytes:
    rows = [f"2024-01-{1 + i // 24:02d} {i % 24:02d}:00,{10 + i % 24 * 0.5}" for i in range(n)]
    return ("\n".join([header, *rows]) + "\n").encode()


def page_text(at) -> str:
    """Every markdown source the page sent: st.markdown, st.error/warning/info/success, captions."""
    blocks = [*at.markdown, *at.error, *at.warning, *at.info, *at.success, *at.caption]
    return "\n".join(str(b.value) for b in blocks)


def test_nul_byte_in_the_file_name_is_one_clear_error():
    """A file name with a NUL byte gives one DataError line on the page, not Streamlit's traceback."""
    at = app()
    at.file_uploader(key="upload_file").upload(
        "meter\x00.csv", hourly_csv("timestamp,kwh"), "text/csv"
    )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and at.error[0].value.startswith("The file name contains a NUL byte")
    assert "\x00" not in page_text(at)


def test_deep_json_says_what_is_wrong_in_words():
    """JSON nested 100,000 levels deep reads as a sentence on the page, never "RecursionError"."""
    at = app()
    at.file_uploader(key="upload_file").upload(
        "deep.json", b"[" * 100_000 + b"]" * 100_000, "application/json"
    )
    at.run()
    assert not at.exception
    assert at.error and "nested too deeply" in at.error[0].value
    assert "Recursion" not in page_text(at)


def test_crafted_header_and_name_render_as_text():
    """A column named like a markdown link (and a file named like one) is escaped on the page, never a link."""
    link = "[prize](https://evil.example)"
    name = "[win](evil.example).csv"
    at = app()
    at.file_uploader(key="upload_file").upload(name, hourly_csv(f"timestamp,{link}"), "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = " ".join(m.value for m in at.markdown if "No unit in the column name" in m.value)
    assert md_escape(link) in warnings
    assert md_escape(name) in at.success[0].value
    assert md_escape(name) in sidebar_markdown(at)
    shown = page_text(at) + sidebar_markdown(at)
    assert link not in shown and name not in shown and "](" not in shown


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("[x](https://e.example)", "\\[x\\]\\(https\\:\u2060\\/\\/e\\.example\\)"),
        ("# big\n- item", "\\# big \\- item"),
        (":red[no] $x$ *b* `c` <i>", "\\:red\\[no\\] \\$x\\$ \\*b\\* \\`c\\` \\<i\\>"),
        ("www.e.example me@e.example", "www\u2060\\.e\\.example me\\@\u2060e\\.example"),
        ("kWh 2024-01-01 10:00", "kWh 2024\\-01\\-01 10\\:00"),
    ],
)
def test_md_escape_leaves_no_markdown(text: str, escaped: str):
    """Every ASCII punctuation mark is escaped, line breaks become spaces, bare links are broken up."""
    assert md_escape(text) == escaped


@pytest.mark.parametrize(
    "content", [b"timestamp,value\n", b"", b"\x00\x01\x02 not a table \xff" * 50]
)
def test_a_hint_points_only_at_controls_that_are_on_the_page(content):
    """A file that cannot be read gives a hint; it names the Columns choices only when they show."""
    at = app()
    at.file_uploader(key="upload_file").upload("broken.csv", content, "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error, "no error for an unreadable file"
    hint = " ".join(i.value for i in at.info)
    assert "timestamp" in hint
    columns_shown = any("Columns" in e.label for e in at.expander)
    assert ("above" in hint) == columns_shown, (hint, columns_shown)  # "... Columns above"
