"""Peak memory of the hosted app: one browser session through every page, every model fitted.

Streamlit Community Cloud gives an app about 1 GB; this measures the resident memory (RSS) of a
real ``streamlit run streamlit_app.py`` (127.0.0.1, a free port, a temporary ``WATTSUP_HOME`` and
model cache, so every model is fitted here and none is loaded from an earlier run) while Debian's
Chromium, driven by Playwright, does what a visitor trying everything would do:

1. Upload a year of hourly readings (LEAD building 118, 8,784 h of 2016: the bundled samples are
   15 min, 30 min or 8 years) and save it as a meter;
2. Forecasting: Prophet and the LSTM forecast, then the backtest (both models trained again);
3. Anomaly detection: the ensemble, then each other detector the page offers, alone (Apply);
   ``learned`` is not run: it needs labels people gave, which a fresh session has none of;
4. Explainability: SHAP of the Isolation Forest (per anomaly and global), SHAP of the LSTM,
   Prophet's components;
5. Live simulation (started, left running, paused), Portfolio ("Score all saved meters"), Alerts.

A thread samples every 0.2 s the server process alone and the server with all its children
(uploads are parsed in a child process, Prophet runs Stan's executable as one). A row per step:
RSS when the step ended and the peak so far, for both. A step that does not finish (a timeout, an
error box, a traceback on the page) ends the run with an exception: nothing is skipped silently.

    python -m benchmarks.app_memory            # prints the table; non-zero exit when a step failed
    python -m benchmarks.app_memory --hosted   # as on a host: WATTSUP_HOSTED=1, so no LSTM
    python -m benchmarks --only app_memory     # the same through the runner (LSTM on)

``--hosted`` runs the server as a hosted one (``WATTSUP_HOSTED=1``), where the LSTM is off by
default (``core.ui.hosting.lstm_enabled``): the same session without the LSTM's forecast, backtest
row, detector and explainer, which the pages no longer offer.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._app_client import REPO, serve

DATA = REPO.parent / "shared" / "data" / "lead_dev" / "building_118.csv"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
LIMIT_MB = 1024.0  # Streamlit Community Cloud's memory limit, about 1 GB
EVERY_S = 0.2
FIT_MS = 900_000  # one model fit on a busy 2-core box (the LSTM is the slow one)
STEP_MS = 60_000
FAILURE_SHOT = Path(tempfile.gettempdir()) / "wattsup-app-memory-failure.png"
LIVE_S = 20.0  # how long the live replay runs
# The page's detectors and their titles in its picker (core.detect.detectors.REGISTRY); the
# benchmark does not import the registry, so its own process stays light.
DETECTORS = {
    "lstm": "LSTM forecast error",
    "prophet": "Prophet residual",
    "isolation_forest": "Isolation Forest",
    "lof": "Local Outlier Factor",
    "ocsvm": "One-Class SVM",
    "seasonal_naive": "Seasonal naive (same time last week)",
    "rolling_z": "Rolling robust z-score",
    "meter_fault": "Meter fault rules",
    "ensemble": "Ensemble",
}
EXPLAINERS = ("LSTM (SHAP)", "Prophet components")


class StepFailed(RuntimeError):
    """A step of the session did not finish."""


# ---- memory -------------------------------------------------------------------------------------
class Rss:
    """RSS of the server process (``server``) and of it with all its children (``tree``), MiB,
    sampled every ``EVERY_S`` on a thread; peaks kept."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.server = self.tree = self.peak_server = self.peak_tree = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        import psutil

        try:
            server = self.proc.memory_info().rss / 2**20
        except psutil.Error:
            return
        tree = server
        with contextlib.suppress(psutil.Error):
            for child in self.proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    tree += child.memory_info().rss / 2**20
        self.server, self.tree = server, tree
        self.peak_server, self.peak_tree = max(self.peak_server, server), max(self.peak_tree, tree)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(EVERY_S)

    def __enter__(self) -> Rss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# ---- driving the page ---------------------------------------------------------------------------
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def settle(page, timeout_ms: float = STEP_MS) -> None:
    """Wait until no script run is going and none starts for a second (bounded)."""
    deadline = time.monotonic() + timeout_ms / 1000
    quiet_since = None
    while time.monotonic() < deadline:
        if page.locator(IDLE).count():
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 1.0:
                return
        else:
            quiet_since = None
        time.sleep(0.1)
    raise StepFailed(f"the page was still running after {timeout_ms / 1000:.0f} s")


def check(page) -> None:
    """No error box and no traceback on the page."""
    for sel in ('[data-testid="stException"]', '[data-testid="stAlertContentError"]'):
        boxes = page.locator(sel)
        if boxes.count():
            raise StepFailed(f"the page shows: {' | '.join(boxes.all_inner_texts())[:500]}")


def wait_text(page, pattern: str, timeout_ms: float, flags: int = 0) -> None:
    """Wait for ``pattern`` (a regex) on the page; an error box showing up first fails at once."""
    found = page.get_by_text(re.compile(pattern, flags)).first
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        if found.count() and found.is_visible():
            return
        check(page)
        time.sleep(0.25)
    raise StepFailed(f"{pattern!r} did not show within {timeout_ms / 1000:.0f} s")


def go(page, title: str) -> None:
    page.get_by_role("link", name=title, exact=True).first.click()
    page.wait_for_selector('[data-testid="stApp"]')
    time.sleep(0.5)


def pick_detector(page, title: str) -> None:
    """The detector picker holds ``title`` alone; Apply."""
    box = page.locator('[data-testid="stMultiSelect"]').first
    box.wait_for(timeout=STEP_MS)
    field = box.locator("input").first
    tags = box.locator("[data-tag]")  # Streamlit 1.67's react-aria tags
    for _ in range(12):  # each chosen detector's own remove cross
        if not tags.count():
            break
        tags.last.locator('button[aria-label^="Remove"]').click()
        time.sleep(0.3)
    if tags.count():
        raise StepFailed(f"could not clear the detector picker ({tags.all_inner_texts()})")
    field.click()
    field.fill(title)
    option = page.get_by_role("option", name=title, exact=True)
    option.first.wait_for(timeout=STEP_MS)
    field.press("Enter")  # the filtered list's first option
    time.sleep(0.3)
    page.keyboard.press("Escape")
    if tags.all_inner_texts() != [title]:
        raise StepFailed(f"could not pick {title} alone (picked: {tags.all_inner_texts()})")
    page.get_by_role("button", name="Apply").first.click()


# ---- the session --------------------------------------------------------------------------------
def steps(base_url: str, *, lstm: bool = True) -> list[tuple[str, Callable]]:
    def upload(page):
        page.goto(f"{base_url}/upload", wait_until="domcontentloaded")
        settle(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(DATA))
        wait_text(page, r"data[- ]quality", STEP_MS * 2, re.I)
        page.get_by_role("button", name="Save as meter").first.wait_for(timeout=STEP_MS * 2)
        settle(page, STEP_MS * 2)
        page.get_by_role("button", name="Save as meter").first.click()
        wait_text(page, r"^building_118: 8784 readings added", STEP_MS * 2)
        settle(page, STEP_MS * 2)
        check(page)

    def forecast(page):
        go(page, "Forecasting")
        wait_text(page, r"^Prophet: ready$", FIT_MS)
        if lstm:
            wait_text(page, r"^LSTM: ready$", FIT_MS)
        settle(page, FIT_MS)
        check(page)

    def backtest(page):
        page.get_by_role("button", name="Run the backtest").first.click()
        page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=FIT_MS)
        settle(page, FIT_MS)
        check(page)

    def ensemble(page):
        go(page, "Anomaly detection")
        wait_text(page, r"readings scored|Detection settings", FIT_MS)
        settle(page, FIT_MS)
        check(page)
        page.locator('[data-testid="stMultiSelect"]').first.wait_for(timeout=FIT_MS)

    def detector(title):
        def run(page):
            pick_detector(page, title)
            time.sleep(1.0)  # the fragment's rerun has started
            settle(page, FIT_MS)
            check(page)
            # a fast fit's "<title>: N readings scored" box can be gone by now (the fragment reruns
            # once more with the scores cached): the applied pick and the counters are what is left
            picked = page.locator('[data-testid="stMultiSelect"] [data-tag]').all_inner_texts()
            if picked != [title]:
                raise StepFailed(f"the page shows detectors {picked}, not {title}")
            wait_text(page, r"^Flagged readings$", STEP_MS)

        return run

    def explain(page):
        go(page, "Explainability")
        settle(page, FIT_MS)
        check(page)
        page.locator(".js-plotly-plot").first.wait_for(timeout=FIT_MS)

    def explainer(label):
        def run(page):
            page.locator('[data-testid="stRadio"] label').filter(has_text=label).first.click()
            time.sleep(0.5)
            settle(page, FIT_MS)
            check(page)
            page.locator(".js-plotly-plot").first.wait_for(timeout=FIT_MS)

        return run

    def explain_global(page):
        page.locator("button").filter(has_text=re.compile(r"^Global$")).first.click()
        wait_text(page, r"What the model looks at", FIT_MS)
        settle(page, FIT_MS)
        check(page)

    def live(page):
        go(page, "Live simulation")
        page.get_by_role("button", name=re.compile("Start")).first.wait_for(timeout=FIT_MS)
        settle(page, FIT_MS)
        check(page)
        page.get_by_role("button", name=re.compile("Start")).first.click()
        time.sleep(LIVE_S)
        check(page)
        page.get_by_role("button", name=re.compile("Pause")).first.click()
        settle(page, STEP_MS)
        check(page)

    def portfolio(page):
        go(page, "Portfolio")
        settle(page)
        page.get_by_role("button", name="Score all saved meters").first.click()
        page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=FIT_MS)
        settle(page, FIT_MS)
        check(page)

    def alerts(page):
        go(page, "Alerts")
        wait_text(page, r"^Alerts$", STEP_MS)
        settle(page)
        check(page)

    picked = [k for k in DETECTORS if k != "ensemble" and (lstm or k != "lstm")]
    explainers = [e for e in EXPLAINERS if lstm or "LSTM" not in e]
    return [
        ("Upload a year of hourly data, save as meter", upload),
        ("Forecasting: Prophet + LSTM" if lstm else "Forecasting: Prophet", forecast),
        ("Forecasting: backtest", backtest),
        ("Anomaly detection: ensemble", ensemble),
        *[(f"Anomaly detection: {k}", detector(DETECTORS[k])) for k in picked],
        ("Anomaly detection: ensemble again", detector(DETECTORS["ensemble"])),
        ("Explainability: Isolation Forest SHAP", explain),
        *[(f"Explainability: {label}", explainer(label)) for label in explainers],
        ("Explainability: global SHAP", explain_global),
        ("Live simulation", live),
        ("Portfolio: score all saved meters", portfolio),
        ("Alerts", alerts),
    ]


def run(log: Callable[[str], None] = print, *, hosted: bool = False) -> list[dict]:
    """One session through every page; a row per step (MiB). Raises ``StepFailed`` when a step
    does not finish. ``hosted``: the server runs as a hosted one (no LSTM)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    if not DATA.is_file():
        raise FileNotFoundError(f"the year of hourly data is missing: {DATA}")
    if not CHROMIUM.is_file():
        raise FileNotFoundError(f"{CHROMIUM} is missing (apt-get install chromium)")
    home = Path(tempfile.mkdtemp(prefix="wattsup-app-memory-"))
    env = {
        "WATTSUP_HOME": str(home),
        "WATTSUP_MODELS_DIR": str(home / "models"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "WATTSUP_HOSTED": "1" if hosted else "0",
    }
    env_drop = ("WATTSUP_DATABASE_URL", "WATTSUP_DASK_SCHEDULER", "WATTSUP_LSTM")
    saved = {k: os.environ.pop(k) for k in env_drop if k in os.environ}
    rows: list[dict] = []
    try:
        with (
            serve(env=env) as server,
            Rss(server.proc.pid) as rss,
            sync_playwright() as pw,
        ):
            rss.sample()
            rows.append(_row("Server started (no session)", 0.0, rss))
            log(_line(rows[-1]))
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.set_default_timeout(STEP_MS)
                for name, step in steps(server.url, lstm=not hosted):
                    t0 = time.perf_counter()
                    try:
                        step(page)
                    except (StepFailed, PlaywrightError) as err:
                        with contextlib.suppress(PlaywrightError):
                            page.screenshot(path=str(FAILURE_SHOT), full_page=True)
                        raise StepFailed(
                            f"step {name!r} did not finish: {err}\n(screenshot: {FAILURE_SHOT})"
                            "\n--- server log ---\n"
                            f"{server.tail(4000)}"
                        ) from err
                    rss.sample()
                    rows.append(_row(name, time.perf_counter() - t0, rss))
                    log(_line(rows[-1]))
            finally:
                browser.close()
    finally:
        os.environ.update(saved)
        shutil.rmtree(home, ignore_errors=True)
    return rows


def _row(step: str, seconds: float, rss: Rss) -> dict:
    return {
        "step": step,
        "seconds": round(seconds, 1),
        "server_mib": round(rss.server),
        "server_peak_mib": round(rss.peak_server),
        "with_children_mib": round(rss.tree),
        "with_children_peak_mib": round(rss.peak_tree),
        "under_1gb": rss.peak_tree < LIMIT_MB,
    }


def _line(r: dict) -> str:
    return (
        f"{r['step']:<48} {r['seconds']:>7.1f} s  server {r['server_mib']:>5} MiB "
        f"(peak {r['server_peak_mib']:>5})  with children {r['with_children_mib']:>5} MiB "
        f"(peak {r['with_children_peak_mib']:>5})"
    )


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    out = [
        "| step | s | server RSS after (MiB) | server peak so far | with children after | "
        "with children peak so far |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    out += [
        f"| {r['step']} | {r['seconds']:.0f} | {r['server_mib']} | {r['server_peak_mib']} | "
        f"{r['with_children_mib']} | {r['with_children_peak_mib']} |"
        for r in rows
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--hosted",
        action="store_true",
        help="run the app as a hosted one (WATTSUP_HOSTED=1: no LSTM)",
    )
    args = parser.parse_args(argv)
    started = time.time()
    load0 = os.getloadavg()
    rows = run(hosted=args.hosted)
    load1 = os.getloadavg()
    print()
    print(table(rows))
    peak = rows[-1]
    print(
        f"\npeak: server {peak['server_peak_mib']} MiB, with children "
        f"{peak['with_children_peak_mib']} MiB (limit {LIMIT_MB:.0f}); "
        f"{(time.time() - started) / 60:.1f} min; load average "
        f"{', '.join(f'{x:.1f}' for x in load0)} at the start, "
        f"{', '.join(f'{x:.1f}' for x in load1)} at the end"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
