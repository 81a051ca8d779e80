"""``python -m benchmarks``: every benchmark in one run, written to ``docs/benchmarks.md`` + PNG plots.

    python -m benchmarks                      # everything (tens of minutes on 2 cores)
    python -m benchmarks --only quality,speed # some sections
    python -m benchmarks --smoke              # tiny inputs, writes to a temporary folder, < 60 s

Sections: ``quality`` (ours and peers on the labelled real series), ``speed`` (ratios against the
bare libraries, app timings), ``scaling`` (time vs length, peak RSS), and every other
``benchmarks/<name>.py`` that exposes ``run() -> list[dict]`` (ingestion, thresholds, streaming ...),
shown as plain tables. The machine, the library versions and the command head the page.

The harness is in the ``benchmarks/_*.py`` modules (never run as sections): ``_environment`` (machine,
versions, benchmark requirements), ``_sections`` (which sections, running one), ``_page`` (the page),
``_tables`` and ``_plots`` (its tables and PNGs), ``_app_client`` (the app on loopback and a light
client for it, for ``load``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks._environment import REPO, ensure_bench_requirements, machine, versions
from benchmarks._page import write_report
from benchmarks._sections import OWN, other_modules, run_section


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="tiny inputs, fast; writes to a temp dir")
    p.add_argument("--only", default="", help="comma-separated sections (default: all)")
    p.add_argument("--out", type=Path, default=None, help="folder for benchmarks.md and img/")
    p.add_argument("--quality-budget", type=float, default=900.0, help="s per detector, all series")
    p.add_argument(
        "--scaling-budget", type=float, default=120.0, help="s per (detector, size) case"
    )
    args = p.parse_args(argv)

    from core.quiet import quiet_libraries

    quiet_libraries()
    ensure_bench_requirements()
    all_sections = [*OWN, *other_modules()]
    wanted = [s.strip() for s in args.only.split(",") if s.strip()] or all_sections
    unknown = [s for s in wanted if s not in all_sections]
    if unknown:
        p.error(f"unknown section(s) {unknown}; choose from {all_sections}")
    out = args.out or (
        Path(tempfile.mkdtemp(prefix="wattsup-bench-smoke-")) if args.smoke else REPO / "docs"
    )
    out.mkdir(parents=True, exist_ok=True)

    started = datetime.now(UTC)
    info = {"machine": machine(), "versions": versions()}
    m = info["machine"]
    print(
        f"machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM, {m['os']}, Python {m['python']}, "
        f"load average {m['load']}",
        flush=True,
    )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()), flush=True)

    def log(msg: str) -> None:
        print(msg, flush=True)

    raw = Path(os.environ.get("WATTSUP_BENCH_CACHE", Path.home() / ".cache" / "wattsup-bench"))
    raw.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results: dict[str, dict] = {}
    for i, name in enumerate(wanted):
        results[name] = run_section(name, args, log)
        # the page is rewritten after every section, so an interrupted run still leaves one
        total = time.perf_counter() - t0
        info.update(
            command="python -m benchmarks" + (" " + " ".join(argv) if argv else ""),
            started=started.strftime("%Y-%m-%d %H:%M UTC"),
            total_s=total,
            load_end=", ".join(f"{x:.1f}" for x in os.getloadavg()),
            smoke=args.smoke,
            pending=wanted[i + 1 :],
        )
        page = write_report(out, info, results)
        (raw / ("last-smoke.json" if args.smoke else "last-run.json")).write_text(
            json.dumps({"info": info, "results": results}, default=str, indent=1)
        )
    print(f"wrote {page} in {total:.0f} s", flush=True)
    return 0 if all(r["status"] == "ok" for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
