"""``python -m core alerts ...``: channels (URL masked), rules, silences and the log as JSON; bad
input is one line and exit 2. In-process through ``core.__main__.main``, as ``python -m core`` runs."""

from __future__ import annotations

import io
import json

import pytest

from core.__main__ import main


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WATTSUP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")

    def run(*args: str):
        code = main(["alerts", *args])
        out, err = capsys.readouterr()
        return code, (json.loads(out) if code == 0 and out.strip() else None), err

    return run


def test_channels_rules_silences_and_log(cli, smtp):
    """Add a channel (shown masked), test it (a mail arrives, logged), add and disable a rule,
    silence a meter, read the log."""
    code, channel, _ = cli(
        "channel", "add", "ops", smtp.url.replace("mailto://", "mailto://u:pw9@")
    )
    assert code == 0 and channel["kind"] == "email" and "pw9" not in json.dumps(channel)
    code, _, _ = cli("channel", "add", "mail", smtp.url)
    code, row, err = cli("channel", "test", "mail")
    assert code == 0 and row["status"] == "sent" and len(smtp.mailbox.messages) == 1
    code, rule, _ = cli(
        "rule",
        "add",
        "big",
        "--meters",
        "hall-7,hall-8",
        "--min-score",
        "4",
        "--types",
        "spike,level_shift",
        "--min-excess",
        "10",
        "--channels",
        "mail",
    )
    assert code == 0 and rule["selector_values"] == ["hall-7", "hall-8"] and rule["min_score"] == 4
    code, rule, _ = cli("rule", "disable", "big")
    assert code == 0 and rule["enabled"] is False
    code, rules, _ = cli("rule", "list")
    assert [r["name"] for r in rules] == ["big"]
    code, silence, _ = cli(
        "silence", "add", "--meters", "hall-7", "--until", "2h", "--why", "works"
    )
    assert code == 0 and silence["comment"] == "works"
    code, log, _ = cli("log")
    assert code == 0 and [(n["kind"], n["status"]) for n in log] == [("test", "sent")]


@pytest.mark.parametrize(
    "args, words",
    [
        (("channel", "add", "x", "notaurl"), "not one Apprise can send to"),
        (("rule", "add", "r", "--channels", "nope"), "no channel named 'nope'"),
        (("rule", "add", "r", "--channels", "c", "--types", "boom"), "types: boom unknown"),
        (("rule", "disable", "ghost"), "no rule named 'ghost'"),
        (("silence", "add", "--meters", "all", "--until", "soon"), "until 'soon'"),
        (("channel", "test", "ghost"), "no channel named 'ghost'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, words):
    """Each mistake: exit 2, one line on stderr saying what to do, no traceback."""
    code, _, err = cli(*args)
    assert code == 2
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_channel_url_can_come_from_stdin(cli, smtp, monkeypatch):
    """`alerts channel add NAME -` reads the URL from stdin (it stays out of the shell history)."""
    monkeypatch.setattr("sys.stdin", io.StringIO(smtp.url + "\n"))
    code, channel, err = cli("channel", "add", "m", "-")
    assert code == 0, err
    assert channel["url"].startswith("mailto://127.0.0.1:")
