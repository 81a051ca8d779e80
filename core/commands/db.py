"""``python -m core db upgrade``: bring the database's schema to the revision this code knows.

Every command and the app do this on start (``core.store.db.open_store``); this one does it on its
own and says what happened. A database written by newer code is refused, untouched (exit 2).
"""

from __future__ import annotations

import argparse

from core.store.db import check_schema, open_store


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "db",
        help="upgrade the database schema",
        description="The WattsUp database (WATTSUP_DATABASE_URL, else WATTSUP_HOME/wattsup.db).",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("upgrade", help="migrate the database to the newest schema revision")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = open_store(upgrade=False)
    try:
        before, after = check_schema(store)
    finally:
        store.close()
    if before == after:
        print(f"{store.where} is at schema revision {after} (the newest): nothing to do")
    else:
        print(f"{store.where} upgraded from {before or 'empty'} to schema revision {after}")
    return 0
