"""One module per ``python -m core`` command: ``add_parser(subparsers)`` sets ``func=run``."""
