"""``python -m core COMMAND ...``: the command line over the same code the app uses.

Each command lives in ``core/commands/<name>.py`` and exposes ``add_parser(subparsers)`` and
``run(args) -> int``. Bad input prints one line to stderr and exits 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import pkgutil
import sys

import core.commands
from core.ingest.data import DataError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="WattsUp command line")
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(core.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"core.commands.{info.name}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as err:
        print(f"error: cannot read {err.filename}: {err.strerror}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader left (`... | head`): stop writing, no traceback
        return 141  # what a shell reports for a command ended by SIGPIPE (128 + 13)


def exit_now(code: int) -> None:
    """Leave without the interpreter's teardown, once everything written is flushed.

    Native thread pools (Arrow's, OpenBLAS's) torn down while the interpreter finalises can abort a
    process after its command finished: "terminate called without an active exception", exit -6,
    seen once in a CI run of the CLI tests on a loaded 2-core box. A command has closed what it
    opened (stores, servers, clusters, schedulers) before it returns, so nothing is lost by skipping
    the teardown; logging handlers and the standard streams are flushed first.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to write
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
