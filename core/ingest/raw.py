"""``RawTable``: a table exactly as read (CSV, JSON or Parquet), and the helpers every reader shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class RawTable:
    """A table exactly as read, with where it came from."""

    frame: pd.DataFrame
    format: str  # "csv" | "json" | "parquet"
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    header: bool = True
    bad_lines: list[int] = field(default_factory=list)  # file lines skipped (wrong field count)
    numbering: str = "record number (first record is 1)"
    line_of: Callable[[np.ndarray], list[int]] | None = None

    def rows_to_lines(self, rows: np.ndarray) -> list[int]:
        """0-based data rows -> the numbers a person sees (file lines for CSV, records otherwise)."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return []
        if self.line_of is not None:
            return self.line_of(rows)
        return [int(r) + 1 for r in rows]


def clean_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip names, name blank columns, and make duplicated names unique (``a``, ``a.1``)."""
    seen: dict[str, int] = {}
    names = []
    for i, col in enumerate(frame.columns):
        name = str(col).strip().strip('"').lstrip("\ufeff") or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    frame.columns = names
    return frame


def first_line(err: BaseException) -> str:
    msg = str(err).strip().splitlines()
    return (msg[0] if msg else type(err).__name__)[:160]
