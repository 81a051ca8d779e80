"""``python -m core alerts channel|rule|silence|log``: where alerts go, which events alert, and what was sent.

=============================================  ====================================================
command                                        what it does
=============================================  ====================================================
``alerts channel add NAME URL``                store an Apprise URL (``-`` reads it from stdin, so
                                               it stays out of the shell history), sealed
``alerts channel list``                        the channels as JSON, URLs masked
``alerts channel test NAME``                   send a test message; the log row as JSON
``alerts channel delete NAME``                 remove a channel
``alerts rule add NAME --meters all|M1,M2      a rule (``--meters site:S`` / ``type:T`` too;
  --channels C [--min-score S] [--types ...]   ``--replace`` overwrites one of that name)
  [--min-excess KWH] ...``
``alerts rule list`` / ``rule disable NAME``   the rules as JSON / stop one alerting
  / ``rule enable NAME`` / ``rule delete``
``alerts silence add --meters ... --until T``  mute matching alerts until T (ISO time or ``2h``)
  ``[--types ...] [--why TEXT] [--who NAME]``
``alerts silence list`` / ``silence end ID``   the silences as JSON / end one now
``alerts log [--meter M] [--status S] ...``    the notification log as JSON, newest first
=============================================  ====================================================

Every command works on the default organisation's alerts in the database (``WATTSUP_DATABASE_URL``,
else ``WATTSUP_HOME/wattsup.db``), or with ``--org ORG`` (before or after the action) on that
organisation's. Bad input, an organisation this database lacks too, is one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import UTC, datetime

from core.alerts.channels import add_channel, send_test
from core.alerts.rules import new_rule, new_silence
from core.commands import add_org_argument, org_owner
from core.detect.events import TYPES
from core.errors import DataError
from core.store.alerts import SqlAlertRepository
from core.store.db import open_store
from core.store.schema import NOTIFICATION_KINDS, NOTIFICATION_STATUSES


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "alerts",
        help="alert channels, rules, silences and the notification log",
        description="Alerts: channels (Apprise URLs, kept sealed), rules, silences, and the log of "
        "every notification. The worker (python -m core worker) sends them.",
    )
    what = p.add_subparsers(dest="what", required=True, metavar="WHAT")

    ch = what.add_parser("channel", help="where alerts go (Apprise URLs)")
    cha = ch.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = cha.add_parser("add", help="store a channel (URL sealed; '-' reads it from stdin)")
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "url",
        metavar="URL",
        help="an Apprise URL, e.g. mailto://HOST:PORT?from=ADDR&to=ADDR or json://host/path; "
        "'-' reads it from stdin",
    )
    cha.add_parser("list", help="the channels as JSON (URLs masked)")
    for action, text in (("test", "send a test message"), ("delete", "remove a channel")):
        sub = cha.add_parser(action, help=text)
        sub.add_argument("name", metavar="NAME")

    ru = what.add_parser("rule", help="which events alert, and where")
    rua = ru.add_subparsers(dest="action", required=True, metavar="ACTION")
    radd = rua.add_parser("add", help="add (or with --replace overwrite) a rule")
    radd.add_argument("name", metavar="NAME")
    radd.add_argument(
        "--meters", default="all", help="all (default), M1,M2, site:SITE or type:BUILDING_TYPE"
    )
    radd.add_argument("--channels", required=True, help="channel names, comma-separated")
    radd.add_argument("--min-score", type=float, metavar="S", help="minimum peak score")
    radd.add_argument("--types", help=f"event types, comma-separated: {', '.join(TYPES)}")
    radd.add_argument("--min-excess", type=float, metavar="KWH", help="minimum energy off expected")
    radd.add_argument(
        "--tariff", type=float, metavar="PRICE", help="price per kWh: cost in messages"
    )
    radd.add_argument("--min-duration", type=float, metavar="HOURS", help="minimum event length")
    radd.add_argument(
        "--quiet-hours", metavar="HH:MM-HH:MM", help="no messages then (meter's zone)"
    )
    radd.add_argument("--quiet-days", metavar="DAYS", help="no messages these days, e.g. sat,sun")
    radd.add_argument("--group-wait", metavar="DUR", help="group events starting this close (1h)")
    radd.add_argument("--repeat-interval", metavar="DUR", help="re-send while open after (4h)")
    radd.add_argument("--lookback", metavar="DUR", help="ignore events ended before this (24h)")
    radd.add_argument("--disabled", action="store_true", help="store it switched off")
    radd.add_argument("--replace", action="store_true", help="overwrite a rule of that name")
    rua.add_parser("list", help="the rules as JSON")
    for action, text in (
        ("disable", "stop a rule alerting"),
        ("enable", "let a rule alert again"),
        ("delete", "remove a rule"),
    ):
        sub = rua.add_parser(action, help=text)
        sub.add_argument("name", metavar="NAME")

    si = what.add_parser("silence", help="mute alerts for a while")
    sia = si.add_subparsers(dest="action", required=True, metavar="ACTION")
    sadd = sia.add_parser("add", help="mute matching alerts until a time")
    sadd.add_argument("--meters", required=True, help="all, M1,M2, site:SITE or type:TYPE")
    sadd.add_argument("--until", required=True, help="ISO time (naive = UTC) or a duration: 2h, 3d")
    sadd.add_argument("--types", help="only these event types, comma-separated")
    sadd.add_argument("--why", help="the reason, shown in the log")
    sadd.add_argument("--who", help="who silenced it")
    sia.add_parser("list", help="the silences as JSON")
    send = sia.add_parser("end", help="end a silence now")
    send.add_argument("id", type=int, metavar="ID")

    lg = what.add_parser("log", help="the notification log as JSON, newest first")
    lg.add_argument("--meter")
    lg.add_argument("--channel")
    lg.add_argument("--status", choices=NOTIFICATION_STATUSES)
    lg.add_argument("--kind", choices=NOTIFICATION_KINDS)
    lg.add_argument("--limit", type=int, default=100)
    add_org_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = open_store()
    try:
        args.owner = org_owner(store, args.org)
        out = _ACTIONS[(args.what, getattr(args, "action", None))](store, args)
    finally:
        store.close()
    print(json.dumps(out, indent=2, default=str))
    return 0


def _now() -> datetime:
    return datetime.now(UTC)


def _channel_add(store, args) -> dict:
    url = sys.stdin.readline().strip() if args.url == "-" else args.url
    return add_channel(store, args.name, url, owner=args.owner).to_dict()


def _channel_test(store, args) -> dict:
    row = send_test(store, args.name, owner=args.owner)
    if row.status != "sent":
        raise DataError(f"channel {args.name!r} failed the test: {row.reason}")
    return row.to_dict()


def _rule_add(store, args) -> dict:
    rule = new_rule(
        args.name,
        channels=args.channels,
        meters=args.meters,
        min_score=args.min_score,
        types=args.types,
        min_excess=args.min_excess,
        tariff=args.tariff,
        min_duration_h=args.min_duration,
        quiet_hours=args.quiet_hours,
        quiet_days=args.quiet_days,
        enabled=not args.disabled,
        group_wait=args.group_wait,
        repeat_interval=args.repeat_interval,
        lookback=args.lookback,
        owner=args.owner,
    )
    repo = SqlAlertRepository(store)
    _check_channels(repo, rule.channels, args.owner)
    return repo.save_rule(rule, replace=args.replace).to_dict()


def _check_channels(repo: SqlAlertRepository, names, owner: str | None) -> None:
    known = {c.name for c in repo.channels(owner=owner)}
    missing = [n for n in names if n not in known]
    if missing:
        raise DataError(
            f"no channel named {', '.join(map(repr, missing))}: add it first with "
            "`python -m core alerts channel add NAME URL`."
        )


def _rule_enabled(enabled: bool):
    def action(store, args) -> dict:
        repo = SqlAlertRepository(store)
        return repo.save_rule(
            replace(repo.rule(args.name, owner=args.owner), enabled=enabled), replace=True
        ).to_dict()

    return action


def _silence_add(store, args) -> dict:
    silence = new_silence(
        args.meters,
        until=args.until,
        now=_now(),
        types=args.types,
        created_by=args.who,
        comment=args.why,
        owner=args.owner,
    )
    return SqlAlertRepository(store).add_silence(silence).to_dict()


_ACTIONS = {
    ("channel", "add"): _channel_add,
    ("channel", "list"): lambda s, a: [
        c.to_dict() for c in SqlAlertRepository(s).channels(owner=a.owner)
    ],
    ("channel", "test"): _channel_test,
    ("channel", "delete"): lambda s, a: (
        SqlAlertRepository(s).delete_channel(a.name, owner=a.owner) or {"deleted": a.name}
    ),
    ("rule", "add"): _rule_add,
    ("rule", "list"): lambda s, a: [
        r.to_dict() for r in SqlAlertRepository(s).rules(owner=a.owner)
    ],
    ("rule", "disable"): _rule_enabled(False),
    ("rule", "enable"): _rule_enabled(True),
    ("rule", "delete"): lambda s, a: (
        SqlAlertRepository(s).delete_rule(a.name, owner=a.owner) or {"deleted": a.name}
    ),
    ("silence", "add"): _silence_add,
    ("silence", "list"): lambda s, a: [
        x.to_dict() for x in SqlAlertRepository(s).silences(owner=a.owner)
    ],
    ("silence", "end"): lambda s, a: (
        SqlAlertRepository(s).end_silence(a.id, _now(), owner=a.owner).to_dict()
    ),
    ("log", None): lambda s, a: [
        n.to_dict()
        for n in SqlAlertRepository(s).log(
            meter=a.meter,
            channel=a.channel,
            status=a.status,
            kind=a.kind,
            limit=a.limit,
            owner=a.owner,
        )
    ],
}
