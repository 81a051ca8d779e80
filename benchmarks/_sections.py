"""Which sections a run has and running one: ours (``quality``, ``speed``, ``scaling``) and every
other ``benchmarks/<name>.py`` that exposes ``run() -> list[dict]``; a broken section is recorded,
never fatal."""

from __future__ import annotations

import importlib
import inspect
import time

from benchmarks._environment import REPO

OWN = ("quality", "speed", "scaling")
SKIP_MODULES = {"quality", "speed", "scaling", "peers", "merlion_runner", "__main__"}


def other_modules() -> list[str]:
    """``benchmarks/<name>.py`` files written by others that expose ``run()``."""
    return sorted(
        p.stem
        for p in (REPO / "benchmarks").glob("*.py")
        if p.stem not in SKIP_MODULES and not p.stem.startswith("_")
    )


# ---- running ------------------------------------------------------------------------------------
def run_section(name: str, args, log) -> dict:
    t0 = time.perf_counter()
    try:
        if name == "quality":
            from benchmarks import quality

            rows = quality.run(smoke=args.smoke, budget_s=args.quality_budget, log=log)
        elif name == "speed":
            from benchmarks import speed

            rows = speed.run(smoke=args.smoke, log=log)
        elif name == "scaling":
            from benchmarks import scaling

            rows = scaling.run(smoke=args.smoke, budget_s=args.scaling_budget, log=log)
        else:
            mod = importlib.import_module(f"benchmarks.{name}")
            fn = getattr(mod, "run", None)
            if fn is None:
                return {"rows": [], "status": "no run() in module", "seconds": 0.0}
            params = inspect.signature(fn).parameters
            if args.smoke and "smoke" not in params:
                return {
                    "rows": [],
                    "status": "skipped in --smoke (its run() has no smoke mode)",
                    "seconds": 0.0,
                }
            log(f"{name}: running benchmarks.{name}.run()")
            rows = fn(smoke=True) if args.smoke else fn()
        status = "ok"
    except Exception as err:  # noqa: BLE001 - one broken section must not lose the others
        import traceback

        rows, status = [], f"error: {type(err).__name__}: {err}"
        log(traceback.format_exc())
    secs = time.perf_counter() - t0
    log(f"[{name}] {status} in {secs:.0f} s")
    return {"rows": list(rows or []), "status": status, "seconds": secs}
