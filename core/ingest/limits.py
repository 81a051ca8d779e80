"""Every limit on what one upload may cost, in one place, each with its reason.

A file is refused with one line when what it *declares* passes a limit (its size, its name, a
Parquet footer's rows / columns / decoded size, a CSV's line count and first line), before any
table is built; see :mod:`core.ingest.declared`. What no file declares (how much memory reading it
really takes) is bounded by the worker process of :mod:`core.ingest.guarded`.

Operators of a hosted server tune the limits that depend on the host through environment
variables (named beside each value); the rest are facts about meter data and stay fixed. Values
are read once, at import.

Sizes are in MB of 1024 * 1024 bytes, the way Streamlit's server counts ``server.maxUploadSize``
(``starlette_routes.py``: ``maxUploadSize * 1024 * 1024``). The browser on macOS and Linux counts
1,000,000 bytes per MB (its file picker does) and so stops a little earlier, at 200,000,000 bytes;
on Windows it counts like the server. Either way the check in code never refuses a file the
browser let through, and every message divides by the same 1024 * 1024.
"""

from __future__ import annotations

import os

__all__ = [
    "MAX_CELLS",
    "MAX_COLUMNS",
    "MAX_DECODED_MB",
    "MAX_FILENAME_CHARS",
    "MAX_JSON_MB",
    "MAX_LINE_KB",
    "MAX_PARQUET_FOOTER_MB",
    "MAX_ROWS",
    "MAX_UPLOAD_MB",
    "MB",
    "PARSE_MEMORY_MB",
    "PARSE_TIMEOUT_S",
    "PARSE_WORKERS",
]

MB = 1024 * 1024  # bytes in the MB of every limit and message (Streamlit's server counts so)


def _env_int(name: str, default: int) -> int:
    """A positive whole number from the environment, else ``default`` (a typo must not lift a limit)."""
    text = os.environ.get(name, "").strip()
    try:
        value = int(text)
    except ValueError:
        return default
    return value if value > 0 else default


# The upload. Streamlit's own variable for server.maxUploadSize (.streamlit/config.toml says 200),
# so one setting moves the browser, the server and this code together.
MAX_UPLOAD_MB = _env_int("STREAMLIT_SERVER_MAX_UPLOAD_SIZE", 200)
# The longest name common file systems allow; every message repeats the name.
MAX_FILENAME_CHARS = 255

# Table shape, declared by the file before it is read (core.ingest.declared).
# Reading costs ~130-180 bytes a row through every step: 5 M rows peak near 1 GB.
MAX_ROWS = _env_int("WATTSUP_MAX_ROWS", 5_000_000)
# Column roles are guessed one column at a time (100,000 columns took minutes and 1.8 GB).
MAX_COLUMNS = _env_int("WATTSUP_MAX_COLUMNS", 1_000)
# Rows x columns (or Parquet's leaf values): 160 MB as float64, ~1.4 GB at the reading peak.
MAX_CELLS = _env_int("WATTSUP_MAX_CELLS", 20_000_000)
# A CSV line of 1,000 columns is ~20 KB; a longer one is not a line of meter readings.
MAX_LINE_KB = 256
# Parquet's declared size once decompressed: twice what a CSV at the upload limit holds.
MAX_DECODED_MB = _env_int("WATTSUP_MAX_DECODED_MB", 2 * MAX_UPLOAD_MB)
# ~220 bytes per column chunk (1,000 columns x 36 row groups); parsing it takes ~13x its size.
MAX_PARQUET_FOOTER_MB = 8
# JSON declares no shape and json.loads needs ~10x the file in Python objects: ~500 MB at 50 MB.
MAX_JSON_MB = _env_int("WATTSUP_MAX_JSON_MB", 50)

# The worker process every upload is read in (core.ingest.guarded). The defaults fit the largest
# table the limits above allow (5 M rows x 4 columns peaks at ~1.4 GB); on a 1 GB host set e.g.
# WATTSUP_PARSE_MEMORY_MB=400, WATTSUP_PARSE_WORKERS=1 and WATTSUP_MAX_ROWS=1000000.
# Address space on top of what the worker's imports take (RLIMIT_AS).
PARSE_MEMORY_MB = _env_int("WATTSUP_PARSE_MEMORY_MB", 2048)
# Seconds per read: 5 M CSV rows take under 10 s; 100,000 columns took over 4 minutes.
PARSE_TIMEOUT_S = _env_int("WATTSUP_PARSE_TIMEOUT_S", 60)
# Reads at once, so uploads never hold more than workers x PARSE_MEMORY_MB.
PARSE_WORKERS = _env_int("WATTSUP_PARSE_WORKERS", 2)
