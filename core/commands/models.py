"""``python -m core models list|prune``: what the model cache holds, and removing it.

``list`` prints one line per cached folder (last used, size, state, detector, folder), least recently
used first, then the total and the limits. ``prune`` removes folders unused for more than
``--older-than DAYS`` and then the least recently used until the cache fits in ``--max-mb N``; with
neither option it applies the configured limits (``WATTSUP_MODELS_MAX_MB``,
``WATTSUP_MODELS_MAX_AGE_DAYS``, see ``core.store.model_cache``). ``--max-mb 0`` empties the cache.
The cache is ``--dir`` or the app's own (``WATTSUP_MODELS_DIR``, else ``models/cache``); the committed
pretrained models are never pruned.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from core.errors import DataError
from core.store.model_cache import CacheEntry, CacheLimits, cache_entries, trim


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "models",
        help="list or prune the models the app saved in its cache",
        description="List the fitted models in the model cache, or remove old ones.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="print every cached model folder and the total size")
    prune = actions.add_parser("prune", help="remove old or least recently used model folders")
    for sub in (listing, prune):
        sub.add_argument("--dir", metavar="PATH", help="the model cache (default: the app's)")
    prune.add_argument("--older-than", metavar="DAYS", help="remove folders unused for DAYS days")
    prune.add_argument(
        "--max-mb", metavar="N", help="then remove the least recently used until N MB"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    root = _cache_dir(args.dir)
    if args.action == "list":
        _print_list(root)
        return 0
    if args.older_than is None and args.max_mb is None:
        limits = CacheLimits.from_env()
    else:
        limits = CacheLimits(
            max_mb=_number("--max-mb", args.max_mb),
            max_age_days=_number("--older-than", args.older_than),
        )
    try:
        removed = trim(root, limits)
    except OSError as err:  # a folder someone else owns, say: one line, not a traceback
        raise DataError(f"cannot prune {root}: {err}") from err
    for entry in removed:
        print(f"removed {_line(entry, root)}")
    left = cache_entries(root)
    print(
        f"removed {len(removed)} folder(s), {_mb(removed)}; {len(left)} left, {_mb(left)} in {root}"
    )
    return 0


def _cache_dir(given: str | None) -> Path:
    from core.detect.pipeline import PRETRAINED_DIR, default_models_dir

    root = Path(given) if given else default_models_dir()
    if root.exists() and not root.is_dir():
        raise DataError(f"{root} is a file: give the model cache folder.")
    if root.resolve() == PRETRAINED_DIR.resolve():
        raise DataError(f"{root} holds the committed pretrained models, not the cache.")
    return root


def _number(option: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise DataError(f"{option} takes a number >= 0, got {text!r}.")
    return value


def _print_list(root: Path) -> None:
    entries = cache_entries(root)
    if not entries:
        print(f"no saved models in {root}")
        return
    print(f"{'last used':<17} {'size':>9}  {'state':<11} {'detector':<17} folder")
    for entry in entries:
        print(_line(entry, root))
    limits = CacheLimits.from_env()
    cap = "no size limit" if limits.max_mb is None else f"limit {limits.max_mb:g} MB"
    age = "no age limit" if limits.max_age_days is None else f"{limits.max_age_days:g} days"
    print(f"{len(entries)} folder(s), {_mb(entries)} in {root} ({cap}, {age})")


def _line(entry: CacheEntry, root: Path) -> str:
    used = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.last_used))
    size = _mb([entry])
    folder = entry.path.relative_to(root)
    return f"{used:<17} {size:>9}  {entry.state:<11} {entry.detector:<17} {folder}"


def _mb(entries: list[CacheEntry]) -> str:
    return f"{sum(e.size_mb for e in entries):.1f} MB"
