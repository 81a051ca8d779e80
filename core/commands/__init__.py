"""CLI wing (``python -m core``). One module per ``python -m core`` command: ``add_parser(subparsers)`` sets ``func=run``.

May import every wing except ``core.ui``. This package module holds what the commands share: FILE and its reading options, and reading it;
the threshold options; ``--org ORG`` (``add_org_argument``) and the owner it names (``org_owner``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.ingest.data import CleanOptions, DataError, Dataset, Schema, parse_upload


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    """FILE and the reading options every command takes."""
    p.add_argument("file", metavar="FILE", help="meter data file (CSV, JSON or Parquet)")
    p.add_argument("--timestamp-col", metavar="C", help="timestamp column (default: inferred)")
    p.add_argument("--value-col", metavar="V", help="value column (default: inferred)")
    p.add_argument("--meter", metavar="M", help="meter id to analyse in a long-format file")
    p.add_argument("--unit", help="unit of the values: Wh, kWh, MWh, W, kW, MW")
    p.add_argument("--freq", metavar="STEP", help="resample to this step, e.g. 15min, 1h, 1D")


def read_dataset(
    args: argparse.Namespace,
    *,
    label_col: str | None = None,
    cumulative_to_interval: bool = False,
) -> Dataset:
    """Read FILE as an upload would be read; a DataError (exit 2) for a missing path or bad data."""
    path = Path(args.file)
    if path.is_dir():
        raise DataError(f"{path} is a folder: give the path of one CSV, JSON or Parquet file.")
    if not path.is_file():
        raise DataError(f"{path} does not exist: check the path and try again.")
    schema = Schema(
        timestamp_col=args.timestamp_col,
        value_col=args.value_col,
        meter=args.meter,
        unit=args.unit,
        label_col=label_col,
    )
    options = CleanOptions(freq=args.freq, cumulative_to_interval=cumulative_to_interval)
    return parse_upload(path.read_bytes(), path.name, schema, options)


ORG_HELP = (
    "act on this organisation's data (its slug, as in `users create --org`; default: the default "
    "organisation, which owns what was saved before users existed)"
)


def add_org_argument(parser: argparse.ArgumentParser) -> None:
    """``--org ORG`` on ``parser`` and on every sub-command below it, so it may stand before or
    after the action (``meters --org acme list`` / ``meters list --org acme``); ``args.org`` is
    None when it is not given."""
    parser.add_argument("--org", metavar="ORG", default=None, help=ORG_HELP)
    _add_org_below(parser)


def _add_org_below(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:  # argparse keeps sub-commands nowhere public
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                # SUPPRESS: a sub-command without --org leaves the value given before it
                sub.add_argument("--org", metavar="ORG", default=argparse.SUPPRESS, help=ORG_HELP)
                _add_org_below(sub)


def org_owner(store, org: str | None) -> str | None:
    """The ``owner`` of organisation ``org``'s rows (None: the default organisation, also when
    ``org`` is None); a one-line DataError (exit 2) for an organisation this database lacks."""
    from core.store.users import DEFAULT_ORG, SqlUserRepository, check_slug, owner_of

    if org is None or org == DEFAULT_ORG:
        return None
    check_slug(org)
    known = SqlUserRepository(store).organisations()
    if org not in known:
        listed = ", ".join(known) if known else "none yet"
        raise DataError(
            f"--org {org}: no such organisation in this database (it has: {listed}); an "
            "organisation is made with `python -m core users create NAME --org ORG`."
        )
    return owner_of(org)


def add_threshold_arguments(p: argparse.ArgumentParser) -> None:
    """The threshold options of ``core.detect.thresholds.ThresholdSettings`` (same defaults)."""
    from core.detect.thresholds import DIRECTIONS, MODES

    p.add_argument("--mode", choices=MODES, default="sigma", help="threshold mode (default: sigma)")
    p.add_argument(
        "--k",
        "--threshold",
        dest="k",
        type=float,
        metavar="K",
        help="sigma mode: flag calibrated scores above K (default: the detectors' DEFAULT_K)",
    )
    p.add_argument("--percentile", type=float, default=99.0, help="percentile mode: flag above it")
    p.add_argument(
        "--alerts-per-month", type=int, default=10, metavar="N", help="per_month mode: event budget"
    )
    p.add_argument(
        "--direction", choices=DIRECTIONS, default="both", help="over-use, under-use or both"
    )
    p.add_argument(
        "--min-deviation",
        type=float,
        default=0.0,
        metavar="X",
        help="ignore |actual - expected| < X",
    )
    p.add_argument(
        "--country",
        metavar="CC",
        help="public holidays of this country (ISO code, e.g. NL) become 'holiday' events",
    )
    p.add_argument(
        "--holidays-normal",
        action="store_true",
        help="with --country: count public holidays as normal days (never flagged)",
    )


def threshold_settings(args: argparse.Namespace):
    """``ThresholdSettings`` from the threshold options; a DataError (exit 2) for a bad value."""
    from core.detect.thresholds import ThresholdSettings

    try:
        return ThresholdSettings(
            mode=args.mode,
            percentile=args.percentile,
            alerts_per_month=args.alerts_per_month,
            direction=args.direction,
            min_deviation=args.min_deviation,
            country=args.country,
            holidays_normal=args.holidays_normal,
            **({} if args.k is None else {"k": args.k}),
        )
    except ValueError as err:
        raise DataError(str(err)) from err


def check_detector(name: str) -> None:
    """A DataError (exit 2) when ``name`` is not a registered detector."""
    from core.detect.detectors import REGISTRY

    if name not in REGISTRY:
        raise DataError(f"unknown detector {name}; choose from {', '.join(sorted(REGISTRY))}")
