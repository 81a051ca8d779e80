"""``python -m core apikey create|list|revoke``: API keys (``Authorization: Bearer KEY``).

``create --user NAME --scope read|write`` prints a new key once: only its sha256 and its first
characters are stored, so a lost key is revoked and replaced, never shown again. Without ``--user``
the key belongs to the first admin of the default organisation (a single-person install). A key
never does more than its user's role allows now (a viewer's keys only read). ``list`` prints the
keys as JSON by prefix (``--user`` for one user's); ``revoke KEY`` takes the whole key or its
listed prefix and holds from the next request.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.auth import apikeys
from core.store.db import NotFoundError, open_store
from core.store.users import SqlUserRepository


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "apikey",
        help="create, list or revoke API keys",
        description="API keys for the WattsUp API (Authorization: Bearer KEY, or X-API-Key).",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a key and print it once")
    create.add_argument("--user", metavar="NAME", help="default: the default org's first admin")
    create.add_argument("--scope", choices=("read", "write"), default="read", help="default: read")
    create.add_argument("--org", metavar="ORG", help="default: the user's first organisation")
    listing = actions.add_parser("list", help="print the keys (prefix, user, scope) as JSON")
    listing.add_argument("--user", metavar="NAME", help="only this user's keys")
    revoke = actions.add_parser("revoke", help="revoke a key (whole, or its listed prefix)")
    revoke.add_argument("key", metavar="KEY")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = open_store()
    repo = SqlUserRepository(store)
    try:
        if args.action == "create":
            key, stored = apikeys.create_key(repo, user=args.user, scope=args.scope, org=args.org)
            print(key)
            print(
                f"({args.scope} key of {stored.user} in {stored.org}; shown once, listed as "
                f"{stored.prefix})",
                file=sys.stderr,
            )
        elif args.action == "list":
            print(json.dumps([_key_out(k) for k in repo.keys(args.user)], indent=2))
        elif args.action == "revoke":
            if apikeys.revoke_key(repo, args.key) == 0:
                raise NotFoundError(
                    "no valid key matches: `python -m core apikey list` lists them."
                )
            print("revoked")
    finally:
        store.close()
    return 0


def _key_out(key) -> dict:
    return {
        "prefix": key.prefix,
        "user": key.user,
        "org": key.org,
        "scope": key.scope,
        "created": key.created.isoformat() if key.created else None,
        "revoked": key.revoked.isoformat() if key.revoked else None,
    }
