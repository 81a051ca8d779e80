"""Real-browser fixtures: the running app on a loopback port, and Chromium driven by Playwright.

The session starts ``streamlit run streamlit_app.py`` once from the repo root, waits for its health
endpoint and always stops it again. Chromium is Debian's ``/usr/bin/chromium`` (``scripts/test.sh``
installs it); Playwright's own browser download is never used.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 900}
HEALTH_TIMEOUT_S = 90.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e drives a browser, so it carries the ``e2e`` marker."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AppServer:
    """One ``streamlit run`` process on a loopback port; ``stop`` is safe to call twice."""

    cwd: Path = REPO
    script: str = "streamlit_app.py"
    port: int = field(default_factory=free_port)
    visited: bool = False
    proc: subprocess.Popen | None = None
    _log_dir: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = HEALTH_TIMEOUT_S) -> AppServer:
        self._log_dir = Path(tempfile.mkdtemp(prefix="wattsup-e2e-"))
        cmd = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            self.script,
            "--server.headless",
            "true",
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
        # Files, not pipes: a chatty server can never block on a full pipe buffer.
        with (
            open(self._log_dir / "stdout", "wb") as out,
            open(self._log_dir / "stderr", "wb") as err,
        ):
            # Its own process group, so stop() also ends whatever the app spawns (cmdstan, ...).
            self.proc = subprocess.Popen(
                cmd, cwd=self.cwd, env=env, stdout=out, stderr=err, start_new_session=True
            )
        atexit.register(self.stop)  # a hard Ctrl-C that skips fixture teardown still ends it
        self._wait_healthy(timeout)
        return self

    def logs(self, tail: int = 4000) -> str:
        if self._log_dir is None:
            return ""
        parts = []
        for name in ("stderr", "stdout"):
            text = (self._log_dir / name).read_text(errors="replace")
            parts.append(f"--- server {name} (last {tail} chars) ---\n{text[-tail:]}")
        return "\n".join(parts)

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                self.stop()
                pytest.fail(
                    f"streamlit exited with code {self.proc.returncode} before it was healthy\n"
                    + self.logs(),
                    pytrace=False,
                )
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as resp:
                    body = resp.read().decode().strip()
                    if resp.status == 200 and body == "ok":
                        return
                    last_error = f"HTTP {resp.status}: {body!r}"
            except (urllib.error.URLError, OSError) as exc:
                last_error = repr(exc)
            time.sleep(0.25)  # polling interval of the health check, not a wait on the UI
        self.stop()
        pytest.fail(
            f"streamlit not healthy on {self.url} within {timeout:.0f} s ({last_error})\n"
            + self.logs(),
            pytrace=False,
        )

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue


@contextlib.contextmanager
def running_app() -> Iterator[AppServer]:
    server = AppServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def app_server() -> Iterator[AppServer]:
    """The app, started once for the whole browser session."""
    if not (REPO / "streamlit_app.py").is_file():
        pytest.fail("streamlit_app.py is missing from the repo root", pytrace=False)
    with running_app() as server:
        yield server


@pytest.fixture
def app_url(app_server: AppServer) -> str:
    """Base URL of the shared server (marked as visited: later tests get no first-visit guarantee)."""
    app_server.visited = True
    return app_server.url


@pytest.fixture
def fresh_app_url(app_server: AppServer) -> Iterator[str]:
    """Base URL of a server nobody has visited since it started.

    That is the shared server when this test runs first (the usual order), else a dedicated one.
    """
    if not app_server.visited:
        app_server.visited = True
        yield app_server.url
        return
    with running_app() as server:
        server.visited = True
        yield server.url


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium in headless mode; a missing binary fails on CI and skips locally."""
    if not CHROMIUM.is_file():
        message = (
            f"{CHROMIUM} not found: install it with `apt-get install -y chromium fonts-dejavu-core` "
            "(scripts/test.sh does this)"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh browser context (own storage, 1400x900) whose last state is saved as a screenshot."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    pg.page_errors = []  # uncaught JS errors, for failure messages
    pg.on("pageerror", lambda exc: pg.page_errors.append(str(exc)))
    try:
        yield pg
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
        context.close()


# --- helpers shared by the scenarios (plain functions: they take the Playwright page) ---

SLOW_MS = 180_000  # first chart on a cold cache: fitting may run before anything shows
STEP_MS = 30_000  # every later wait: a cached rerun, a fragment tick, a download

_TRACES_JS = """
() => {
  const size = (v) => {
    if (v == null) return 0;
    if (Array.isArray(v) || ArrayBuffer.isView(v)) return v.length;
    if (typeof v === 'object' && typeof v.bdata === 'string') {  // plotly's base64 arrays
      const bytes = { i1: 1, u1: 1, i2: 2, u2: 2, i4: 4, u4: 4, f4: 4, f8: 8 }[v.dtype] || 8;
      const b = v.bdata.replace(/=+$/, '');
      return Math.floor((b.length * 3) / 4 / bytes);
    }
    return 0;
  };
  return [...document.querySelectorAll('.js-plotly-plot')].map((el) => {
    const full = el._fullLayout || {};
    return {
      paper_bgcolor: full.paper_bgcolor || (el.layout || {}).paper_bgcolor || null,
      plot_bgcolor: full.plot_bgcolor || (el.layout || {}).plot_bgcolor || null,
      font_color: (full.font || {}).color || null,
      traces: (el.data || []).map((t, i) => {
        const fd = (el._fullData || [])[i] || {};
        const colour = (t.marker || {}).color ?? (fd.marker || {}).color ?? null;
        return {
          name: t.name ?? null,
          type: t.type || 'scatter',
          mode: t.mode || fd.mode || null,
          colour: Array.isArray(colour) ? [...new Set(colour)] : colour,
          n: fd._length ?? Math.max(size(t.x), size(t.y)),
          y_max: Array.isArray(t.y) ? Math.max(...t.y.filter((v) => v != null)) : null,
        };
      }),
    };
  });
}
"""


def plotly_charts(page) -> list[dict]:
    """Every Plotly chart on the page as plain data: layout colours and, per trace, name/colour/n."""
    return page.evaluate(_TRACES_JS)


def traces_named(page, name: str) -> list[dict]:
    return [t for chart in plotly_charts(page) for t in chart["traces"] if t["name"] == name]


def wait_for_trace(page, name: str, *, min_points: int = 1, timeout: float = STEP_MS) -> dict:
    """Wait until a trace called ``name`` with at least ``min_points`` points is drawn; return it."""
    page.wait_for_function(
        """([name, k]) => [...document.querySelectorAll('.js-plotly-plot')].some(
              (el) => (el._fullData || []).some((t) => t.name === name && (t._length || 0) >= k))""",
        arg=[name, min_points],
        timeout=timeout,
    )
    return max(traces_named(page, name), key=lambda t: t["n"])


def wait_for_trace_length(page, name: str, n: int, *, timeout: float = STEP_MS) -> None:
    """Wait until the longest trace called ``name`` has exactly ``n`` points (the chart is redrawn
    a moment after the metrics above it); a timeout leaves the caller's assert to say what differs."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(
            """([name, n]) => Math.max(-1, ...[...document.querySelectorAll('.js-plotly-plot')]
                  .flatMap((el) => (el._fullData || []).filter((t) => t.name === name)
                  .map((t) => t._length || 0))) === n""",
            arg=[name, n],
            timeout=timeout,
        )


def wait_idle(page, timeout: float = STEP_MS) -> None:
    """Wait until the script run that the last interaction caused has finished."""
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]'
        '[data-test-connection-state="CONNECTED"]',
        state="attached",
        timeout=timeout,
    )


def assert_no_exception(page) -> None:
    """No Python traceback reached the page (st.exception boxes) and no JavaScript error went
    uncaught."""
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, "traceback on the page:\n" + "\n---\n".join(boxes.all_inner_texts())
    errors = getattr(page, "page_errors", [])
    assert not errors, f"uncaught JavaScript errors: {errors}"


def shot(page, name: str) -> Path:
    """Save a named screenshot under test-artifacts/e2e/ and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


NOT_FOUND = '[role="dialog"]:has-text("Page not found")'
# The sidebar's page links: the app's own (st.page_link) and Streamlit's built-in list, if shown.
NAV_LINKS = (
    '[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"], [data-testid="stSidebarNav"] a'
)


def page_not_found(page) -> str | None:
    """Streamlit's "Page not found" dialog text, if it is showing."""
    dialog = page.locator(NOT_FOUND)
    return dialog.first.inner_text() if dialog.count() else None


def open_app(page, base_url: str, url_path: str, title: str, timeout: float = STEP_MS) -> None:
    """A first visit (new session) to one page by its URL, as a bookmark would open it.

    Should Streamlit answer "Page not found" for the URL (test_page_urls pins that separately),
    the dialog is closed and the page is reached through its navigation link instead, so each
    scenario still tests its own behaviour.
    """
    page.goto(f"{base_url}/{url_path}", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    nav = page.locator(NAV_LINKS).filter(has_text=title)
    nav.first.wait_for(timeout=timeout)
    wait_idle(page, timeout)
    if page_not_found(page):
        page.locator(NOT_FOUND).get_by_role("button", name="Close").click()
        go_to(page, title, timeout)


def go_to(page, title: str, timeout: float = STEP_MS) -> None:
    """Follow the app's own navigation link (same session, unlike ``page.goto``)."""
    page.get_by_role("link", name=title, exact=True).first.click()
    page.wait_for_selector('[data-testid="stApp"]')
    wait_idle(page, timeout)
