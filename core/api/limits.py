"""What one API request may cost, in one place, each with its reason.

The limits a file upload has (``core.ingest.limits``: columns per table) apply where a request
carries the same thing; the rest are the API's own, tuned per host by the variables named beside
them. Values are read once, at import.

=================================  ===========  ==================================================
variable                           default      what it bounds
=================================  ===========  ==================================================
``WATTSUP_API_MAX_BODY_MB``        20           request body, in MB of 1024 * 1024 bytes
``WATTSUP_API_MAX_BATCH``          100000       readings in one ``POST .../readings``
``WATTSUP_API_MAX_SERIES``         50000        points in one stateless detection series
``WATTSUP_API_MAX_PAGE``           100000       readings in one ``GET .../readings`` answer
``WATTSUP_API_DETECTIONS``         1            fits and scorings at once, per server process
``WATTSUP_API_MODELS``             64           fitted detectors kept in memory
=================================  ===========  ==================================================
"""

from __future__ import annotations

import os

from core.ingest.data import MIN_POINTS
from core.ingest.limits import MAX_COLUMNS, MB

__all__ = [
    "MAX_BATCH",
    "MAX_BODY_MB",
    "MAX_COVARIATES",
    "MAX_DEPTH",
    "MAX_FORECAST_STEPS",
    "MAX_GRID_FACTOR",
    "MAX_PAGE",
    "MAX_SERIES",
    "MB",
    "MIN_POINTS",
    "DETECTIONS",
    "MODELS_IN_MEMORY",
]


def _env_int(name: str, default: int) -> int:
    """A positive whole number from the environment, else ``default`` (a typo must not lift a limit)."""
    try:
        value = int(os.environ.get(name, "").strip())
    except ValueError:
        return default
    return value if value > 0 else default


# A 10,000-reading JSON batch with two covariates is ~1 MB; 100,000 readings fit in 20 MB. The body
# is held in memory while it is read (and json.loads takes ~10x its size), so this bounds a request.
MAX_BODY_MB = _env_int("WATTSUP_API_MAX_BODY_MB", 20)
# Readings per POST: what 20 MB of JSON holds, and a transaction of a few seconds at most.
MAX_BATCH = _env_int("WATTSUP_API_MAX_BATCH", 100_000)
# Points per stateless series: a year of 15-minute readings (35,040) with room; Azure took 8,640.
MAX_SERIES = _env_int("WATTSUP_API_MAX_SERIES", 50_000)
# Readings per GET answer (about 8 MB of JSON); ``next`` continues from where a page stops.
MAX_PAGE = _env_int("WATTSUP_API_MAX_PAGE", 100_000)
# Nesting of any JSON body. A reading is an object in a list (2), a detection request a list of
# objects in an object (3); 32 leaves room for any client's envelope and stays far from the ~1,000
# levels at which json.loads gives up with a RecursionError.
MAX_DEPTH = 32
# Covariate names per meter: the columns a file upload may have.
MAX_COVARIATES = MAX_COLUMNS
# A series whose gaps make its grid this many times longer than its points is mostly missing.
MAX_GRID_FACTOR = 20
# Forecast horizon: 30 days of 15-minute steps.
MAX_FORECAST_STEPS = 2_880
# Detections and forecasts fitting at once: each keeps a core busy, and more at once only slows
# every one of them down; the rest wait their turn.
# One per server process: detection is CPU-bound Python, and threads of one process share one
# interpreter lock. Two at once cost each call ~40 % more CPU and finish none sooner (``/last``
# at 10 clients: 28-32 against 22 ms of server CPU a call, 33-36 against 46 calls/s;
# docs/benchmarks.md). More at once: ``python -m core serve --workers N``, one place each.
DETECTIONS = _env_int("WATTSUP_API_DETECTIONS", 1)
# Fitted detectors kept in memory per process. A device calling /detect/last keeps its model of
# the day here, and one read back from disk costs about what a fit does (~0.5 s), so room for the
# devices of a site: the default causal ensemble is ~2 MB (64: ~150 MB); an LSTM tens of MB.
MODELS_IN_MEMORY = _env_int("WATTSUP_API_MODELS", 64)
