"""Leave-one-building-out on the labelled LEAD buildings and leave-one-series-out on NAB (issue 15).

``python -m benchmarks.lobo`` runs ``python -m core tune`` (``core.detect.tuning``) on the four LEAD
buildings in ``../shared/data/lead_dev`` and on the seven NAB realKnownCause series, and prints one
Markdown table each: per held-out file, the threshold, event merge gap and smoothing chosen on the
*other* files, what that choice scored on the held-out file (point and event F1, AUC-ROC) beside a
random baseline that flags as many points, and what the shipped defaults scored there. The mean and
spread across files close each table. ``run()`` returns the same rows for ``python -m benchmarks``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._environment import REPO

DATA = REPO.parent / "shared" / "data"


def _sets() -> dict[str, list[str]]:
    lead = sorted(str(p) for p in (DATA / "lead_dev").glob("building_*.csv"))
    nab_dir = DATA / "nab_real_known_cause"
    windows = json.loads((nab_dir / "windows.json").read_text())
    nab = [str(nab_dir / Path(k).name) for k in sorted(windows)]
    return {
        "LEAD (leave one building out)": lead,
        "NAB (leave one series out)": [*nab, "--windows", str(nab_dir / "windows.json")],
    }


def _tune(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "core", "tune", *args, "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def run() -> list[dict]:
    rows = []
    for name, args in _sets().items():
        t0 = time.perf_counter()
        result = _tune(args)
        seconds = time.perf_counter() - t0
        for fold in result["folds"]:
            m, s, c = fold["held_out_metrics"], fold["shipped_metrics"], fold["chosen"]
            rows.append(
                {
                    "set": name,
                    "held_out": fold["held_out"],
                    "chosen": f"k {c['k']:g}, gap {c['merge_gap']}, smooth {c['smooth_hours']:g} h",
                    "f1": m["f1"],
                    "event_f1": m["event_f1"],
                    "random_f1": m["random_f1"],
                    "random_event_f1": m["random_event_f1"],
                    "auc_roc": m["auc_roc"],
                    "shipped_f1": s["f1"],
                    "shipped_event_f1": s["event_f1"],
                    "seconds": round(seconds, 1),
                }
            )
    return rows


def main() -> int:
    from core.commands.tune import table

    for name, args in _sets().items():
        t0 = time.perf_counter()
        result = _tune(args)
        print(f"### {name}\n")
        print(table(result))
        print(f"({time.perf_counter() - t0:.0f} s)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
