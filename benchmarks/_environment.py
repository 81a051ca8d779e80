"""The environment a benchmark run reports and needs: the machine, the library versions, and the
benchmark-only requirements (installed with pip when a peer package is missing)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_REQS = REPO / "requirements-bench.txt"
LIBS = (
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "prophet",
    "cmdstanpy",
    "tensorflow-cpu",
    "keras",
    "shap",
    "pyod",
    "numba",
    "matplotlib",
)


def ensure_bench_requirements(log=print) -> None:
    """Install requirements-bench.txt with pip when a peer package is missing (said out loud)."""
    missing = [m for m in ("pyod", "matplotlib") if importlib.util.find_spec(m) is None]
    if not missing:
        return
    if os.environ.get("WATTSUP_BENCH_NO_INSTALL"):
        log(
            f"benchmarks: {', '.join(missing)} not installed and WATTSUP_BENCH_NO_INSTALL is set: "
            "those peers are reported as not run"
        )
        return
    log(
        f"benchmarks: {', '.join(missing)} not installed; installing {BENCH_REQS.name} with pip "
        "(peers and plotting only; the app does not need them) ..."
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            str(BENCH_REQS),
        ],
        check=True,
    )
    importlib.invalidate_caches()


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kb / 1024**2:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return {
        "cpu": cpu,
        "cores": str(cores),
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load": load,
    }


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for lib in LIBS:
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            out[lib] = "not installed"
    from benchmarks.peers import merlion_version

    out["salesforce-merlion (own venv)"] = merlion_version()
    return out
