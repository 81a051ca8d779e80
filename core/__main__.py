"""``python -m core COMMAND ...``: the command line over the same code the app uses.

Each command lives in ``core/commands/<name>.py`` and exposes ``add_parser(subparsers)`` and
``run(args) -> int``. Bad input prints one line to stderr and exits 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
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


if __name__ == "__main__":
    sys.exit(main())
