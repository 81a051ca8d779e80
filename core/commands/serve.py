"""``python -m core serve [--host H] [--port P]``: the REST / JSON API (``core.api``) on uvicorn.

The database is the app's (``WATTSUP_DATABASE_URL``, else ``WATTSUP_HOME/wattsup.db``): it is opened
(and migrated) once here, so a bad URL or an unreachable server is one line and exit 2 before the
server starts. uvicorn then loads the app by its import string ``core.api.app:create_app``: the
command wing sits below the API wing (``pyproject.toml``'s layers) and never imports it.
OpenAPI at ``http://HOST:PORT/docs``.
"""

from __future__ import annotations

import argparse

from core.store.db import open_store

APP = "core.api.app:create_app"
HTTP = "core.api.nodelay:NoDelayH11Protocol"  # h11 with Nagle off (see that module)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve the REST / JSON API (push readings, detect, label) with uvicorn",
        description="Serve the WattsUp API on HOST:PORT (OpenAPI at /docs) over the same "
        "database as the app.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port (default: 8000)")
    p.add_argument(
        "--workers", type=int, default=1, metavar="N", help="server processes (default: 1)"
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn's log level (default: info)",
    )
    p.set_defaults(func=run)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return port


def run(args: argparse.Namespace) -> int:
    import uvicorn  # the server only: ``python -m core`` lists its commands without loading it

    open_store().close()  # a database problem is one line (exit 2) before anything listens
    uvicorn.run(
        APP,
        factory=True,
        host=args.host,
        port=args.port,
        workers=max(1, args.workers),
        http=HTTP,
        log_level=args.log_level,
        server_header=False,
        # the body guard reads each body once; slow clients cannot hold a connection open forever
        timeout_keep_alive=5,
    )
    return 0
