"""``python -m core users create|grant|list|remove|unlock``: local accounts and who may do what.

``create NAME --role viewer|analyst|admin --org ORG`` makes a user with a password read from
``WATTSUP_PASSWORD`` (for scripts) or asked twice at the terminal (never echoed, never an argument:
arguments show in ``ps`` and shell history); ``--oidc`` makes one who signs in only through the
identity provider of ``.streamlit/secrets.toml`` (NAME is the e-mail address it reports). ``grant``
adds a user to another organisation or changes their role there; ``list`` prints users and roles as
JSON (no hashes); ``remove NAME`` removes the user with their sessions and API keys (they stop
working at once), ``remove NAME --org ORG`` only takes them out of that organisation (its
sessions end, its keys are revoked, at once: a signed-in page loses it on its next run); ``unlock NAME`` lifts a lock-out. The first admin is made with ``users create
NAME --role admin``: from then on the API wants a key and the app shows saved meters after sign-in.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from core.auth import accounts
from core.errors import DataError
from core.store.db import open_store
from core.store.schema import ROLES
from core.store.users import DEFAULT_ORG, SqlUserRepository

PASSWORD_VAR = "WATTSUP_PASSWORD"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "users",
        help="create, list, remove or unlock users (local accounts and roles)",
        description="Users of this WattsUp and their roles in organisations.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a user (password prompted)")
    create.add_argument("name", metavar="NAME")
    _role_org(create)
    create.add_argument(
        "--oidc",
        action="store_true",
        help="no password: the user signs in through the identity provider (NAME = e-mail)",
    )
    grant = actions.add_parser("grant", help="give a user a role in an organisation")
    grant.add_argument("name", metavar="NAME")
    _role_org(grant)
    actions.add_parser("list", help="print the users and their roles as JSON")
    rm = actions.add_parser("remove", help="remove a user with their sessions and API keys")
    rm.add_argument("name", metavar="NAME")
    rm.add_argument(
        "--org",
        metavar="ORG",
        help="only take the user out of this organisation (their sessions and keys there end)",
    )
    unlock = actions.add_parser("unlock", help="lift a lock-out after too many wrong passwords")
    unlock.add_argument("name", metavar="NAME")
    p.set_defaults(func=run)


def _role_org(p: argparse.ArgumentParser) -> None:
    p.add_argument("--role", choices=ROLES, default="viewer", help="default: viewer")
    p.add_argument(
        "--org",
        default=DEFAULT_ORG,
        metavar="ORG",
        help=f"organisation slug (default: {DEFAULT_ORG}, which owns the meters saved so far)",
    )


def read_password(name: str) -> str:
    """``WATTSUP_PASSWORD``, else asked twice at the terminal; a DataError when neither works."""
    from_env = os.environ.get(PASSWORD_VAR)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise DataError(
            f"no password for {name}: set {PASSWORD_VAR} or run the command in a terminal."
        )
    first = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("Again: ") != first:
        raise DataError("the two passwords differ: run the command again.")
    return first


def run(args: argparse.Namespace) -> int:
    password = None
    if args.action == "create" and not args.oidc:
        password = read_password(args.name)
    store = open_store()
    repo = SqlUserRepository(store)
    try:
        if args.action == "create":
            user = accounts.create_user(repo, args.name, password, role=args.role, org=args.org)
            how = "identity provider" if args.oidc else "password"
            print(f"created {user.name} ({args.role} in {args.org}, signs in with a {how})")
        elif args.action == "grant":
            repo.grant(args.name, args.org, args.role)
            print(f"{args.name} is now {args.role} in {args.org}")
        elif args.action == "list":
            print(json.dumps([_user_out(u) for u in repo.list()], indent=2))
        elif args.action == "remove" and args.org:
            keys = repo.leave(args.name, args.org)
            print(f"removed {args.name} from {args.org} and revoked {keys} API key(s) of it")
        elif args.action == "remove":
            keys = accounts.remove_user(repo, args.name)
            print(f"removed {args.name} and {keys} API key(s)")
        elif args.action == "unlock":
            accounts.unlock_user(repo, args.name)
            print(f"unlocked {args.name}")
    finally:
        store.close()
    return 0


def _user_out(user) -> dict:
    return {
        "name": user.name,
        "sign_in": "password" if user.password_hash else "identity provider",
        "roles": {m.org: m.role for m in user.memberships},
        "locked_until": user.locked_until.isoformat() if user.locked_until else None,
        "created": user.created.isoformat() if user.created else None,
    }
