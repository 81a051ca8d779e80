"""The app on loopback and a light client for it: ``serve()`` starts ``streamlit run
streamlit_app.py`` on 127.0.0.1 (a free port, health-checked, always stopped), ``Session`` is one
browser tab as far as the server can tell. Used by ``benchmarks/load.py`` and the tests that need
a real server (``tests/app/test_busy_server.py``).

``Session`` speaks Streamlit's own WebSocket protocol (``/_stcore/stream``; ``BackMsg`` /
``ForwardMsg`` protobufs from ``streamlit.proto``) the way its browser client does: a
``rerun_script`` with the page name opens a page; the deltas name each widget (``$$ID-...-<key>``)
and the fragment it was drawn in; a widget change is a ``rerun_script`` carrying that widget's
new value and that fragment's id. An upload asks for an upload URL (``file_urls_request``), PUTs
the file there with the XSRF cookie the health check hands out, and reruns with the uploader's
state. A run's time ends at its ``script_finished`` message, when the whole answer has arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEALTH_TIMEOUT_S = 90.0
OPEN_TIMEOUT_S = 120.0
MOVE_TIMEOUT_S = 60.0
SETTLE_TIMEOUT_S = 60.0  # for the server to go idle
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a ForwardMsg with a chart is a few MB at most
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Streamlit logs tracebacks in colour
FINAL_LINE = re.compile(r"^([A-Za-z_][\w.]*)(Error|Exception|Exit)\b:?")  # "KeyError: 'x'"


# ---- the server ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """``streamlit run streamlit_app.py`` on 127.0.0.1, its log in a temporary file."""

    port: int
    proc: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        """Resident memory of the server process now (MB); 0 when it is gone."""
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def cpu_s(self) -> float:
        """CPU seconds the server process has used so far (user + system)."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def settle(self, idle: float = 0.1, timeout: float = SETTLE_TIMEOUT_S) -> None:
        """Wait (bounded) until the server uses under ``idle`` of a core: runs of sessions that
        already left finish first, so one level's work never lands in the next one's times."""
        deadline = time.monotonic() + timeout
        last = self.cpu_s()
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = self.cpu_s()
            if now - last < idle:
                return
            last = now

    def keep_log(self) -> Path:
        """Copy the server's log (so far) beside the benchmark's raw results; returns the copy."""
        folder = Path(
            os.environ.get("WATTSUP_BENCH_CACHE", Path.home() / ".cache" / "wattsup-bench")
        )
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / "load-server.log"
        dest.write_bytes(self.log.read_bytes() if self.log.exists() else b"")
        return dest

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def errors_since(self, offset: int) -> list[str]:
        """The last line ("SomeError: ...") of every traceback the server logged after
        ``offset`` (the page shows none of them: ``client.showErrorDetails = "none"``)."""
        if not self.log.exists():
            return []
        with open(self.log, "rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
        out = []
        for line in lines:
            plain = ANSI.sub("", line).strip()
            if FINAL_LINE.match(plain):
                out.append(plain[:200])
        return out


@contextlib.contextmanager
def serve(
    flags: list[str] | tuple[str, ...] = (), env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Start the app (``flags``: more ``streamlit run`` options), wait for ``/_stcore/health``
    (bounded), always stop it (a SIGTERM to this process stops it too)."""
    restore = _stop_on_sigterm()
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="wattsup-load-", suffix=".log")[1])
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        *flags,
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    server = Server(port, proc, log)
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}: {server.tail()}")
            try:
                with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no health after {HEALTH_TIMEOUT_S:.0f} s: {server.tail()}")
            time.sleep(0.2)
        yield server
    finally:
        import psutil

        try:
            children = psutil.Process(proc.pid).children(recursive=True)  # upload readers
        except psutil.Error:
            children = []
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        for child in children:  # a reader still busy when its server went
            with contextlib.suppress(psutil.Error):
                child.kill()
        log.unlink(missing_ok=True)
        restore()


def _stop_on_sigterm():
    """Make SIGTERM raise ``SystemExit`` (so ``finally`` stops the server); returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    before = signal.getsignal(signal.SIGTERM)

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    return lambda: signal.signal(signal.SIGTERM, before)


class MemoryWatch:
    """Samples RSS every ``every`` seconds on a thread: ``peak_mb`` is the server's highest,
    ``reader_peak_mb`` the highest of the upload reader processes it starts (``core.ingest.worker``)."""

    def __init__(self, server: Server, every: float = 0.2) -> None:
        self.server, self.every, self.peak_mb, self.reader_peak_mb = server, every, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _readers_mb(self) -> float:
        import psutil

        total = 0.0
        try:
            children = psutil.Process(self.server.proc.pid).children(recursive=True)
        except psutil.Error:
            return 0.0
        for child in children:
            try:
                if "core.ingest.worker" in " ".join(child.cmdline()):
                    total += child.memory_info().rss / 2**20
            except psutil.Error:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self.server.rss_mb())
            self.reader_peak_mb = max(self.reader_peak_mb, self._readers_mb())
            self._stop.wait(self.every)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.peak_mb = max(self.peak_mb, self.server.rss_mb())


# ---- one light client session -------------------------------------------------------------------
@dataclass
class Widget:
    id: str
    fragment_id: str


@dataclass
class Session:
    """One browser tab, as far as the server can tell: a WebSocket speaking Streamlit's protocol."""

    base: str
    ws: object = None
    session_id: str = ""
    page_hash: str = ""
    widgets: dict[str, Widget] = field(default_factory=dict)  # user key -> id and fragment
    metrics: dict[str, str] = field(default_factory=dict)  # st.metric label -> value shown
    errors: list[str] = field(default_factory=list)
    last_status: int | None = None  # ForwardMsg.ScriptFinishedStatus of the last run that ended
    _finished: asyncio.Queue | None = None
    _file_urls: asyncio.Queue | None = None
    _reader: asyncio.Task | None = None

    async def connect(self) -> None:
        import websockets

        self._finished, self._file_urls = asyncio.Queue(), asyncio.Queue()
        url = self.base.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = await websockets.connect(
            url,
            subprotocols=["streamlit"],
            max_size=MAX_MESSAGE_BYTES,
            open_timeout=30,
            ping_interval=None,  # as the browser: Streamlit's client sends no WebSocket pings
        )
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        with contextlib.suppress(Exception):  # a closed socket ends the reader
            async for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                kind = msg.WhichOneof("type")
                if kind == "new_session":
                    self.session_id = msg.new_session.initialize.session_id
                elif kind == "navigation" and msg.navigation.page_script_hash:
                    self.page_hash = msg.navigation.page_script_hash
                elif kind == "delta":
                    self._note_widget(msg.delta)
                elif kind == "script_finished":
                    self._finished.put_nowait(msg.script_finished)
                elif kind == "file_urls_response":
                    self._file_urls.put_nowait(msg.file_urls_response)

    def _note_widget(self, delta) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        el = delta.new_element
        kind = el.WhichOneof("type")
        if kind is None:
            return
        if kind == "exception":
            self.errors.append(el.exception.message[:200])
            return
        if kind == "metric":
            self.metrics[el.metric.label] = el.metric.body
            return
        wid = getattr(getattr(el, kind), "id", "")
        if isinstance(wid, str) and wid.startswith("$$ID-"):
            key = wid.split("-", 2)[-1]  # "$$ID-<hash>-<user key>"
            self.widgets[key] = Widget(wid, delta.fragment_id)

    async def send(self, state) -> float:
        """Send one ``rerun_script``; returns when it was sent (``perf_counter``)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        while not self._finished.empty():  # nothing of an earlier run may end this one
            self._finished.get_nowait()
        back = BackMsg()
        back.rerun_script.CopyFrom(state)
        t0 = time.perf_counter()
        await self.ws.send(back.SerializeToString())
        return t0

    async def finished(self, t0: float, timeout: float) -> float:
        """Wait for the end of the run sent at ``t0``; returns seconds since ``t0``."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        done = {
            ForwardMsg.FINISHED_SUCCESSFULLY,
            ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
            ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
        }
        deadline = t0 + timeout
        while True:
            left = deadline - time.perf_counter()
            status = await asyncio.wait_for(self._finished.get(), max(left, 0.001))
            if status in done:  # FINISHED_EARLY_FOR_RERUN: the router's rerun follows
                self.last_status = status
                return time.perf_counter() - t0

    async def _run(self, state, timeout: float) -> float:
        return await self.finished(await self.send(state), timeout)

    def _state(self, page_name: str = ""):
        from streamlit.proto.ClientState_pb2 import ClientState

        state = ClientState(page_name=page_name, page_script_hash=self.page_hash)
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-GB"
        state.context_info.url = f"{self.base}/{page_name}"
        return state

    async def open(self, page: str) -> float:
        """Connect and run ``page``; seconds until its first run has finished."""
        t0 = time.perf_counter()
        await self.connect()
        await self._run(self._state(page), OPEN_TIMEOUT_S)
        return time.perf_counter() - t0

    async def set_number(self, key: str, value: float) -> float:
        """Move a slider (float, single value) to ``value``; seconds until the server answered."""
        widget = self.widgets[key]
        state = self._state()
        state.fragment_id = widget.fragment_id
        w = state.widget_states.widgets.add()
        w.id = widget.id
        w.double_array_value.data.append(float(value))
        return await self._run(state, MOVE_TIMEOUT_S)

    async def upload(
        self, key: str, name: str, data: bytes, timeout: float, sent: asyncio.Event | None = None
    ) -> float:
        """Put ``data`` into the file uploader ``key`` as the browser does and wait for the run
        that reads it; seconds from the start. ``sent`` is set once that run was asked for."""
        t0 = time.perf_counter()
        ran = await self.send(await self.put_upload(key, name, data, timeout))
        if sent is not None:
            sent.set()
        await self.finished(ran, timeout)
        return time.perf_counter() - t0

    async def put_upload(self, key: str, name: str, data: bytes, timeout: float):
        """The browser's upload up to the rerun: ask for an upload URL, PUT the file there; returns
        the ``ClientState`` that tells the file uploader ``key`` it holds the file (``send`` it)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        widget = self.widgets[key]
        back = BackMsg()
        back.file_urls_request.request_id = "load-1"
        back.file_urls_request.session_id = self.session_id
        back.file_urls_request.file_names.append(name)
        await self.ws.send(back.SerializeToString())
        urls = (await asyncio.wait_for(self._file_urls.get(), 30)).file_urls[0]
        await asyncio.to_thread(_put_file, self.base + urls.upload_url, name, data, timeout)
        state = self._state()
        state.fragment_id = widget.fragment_id
        w = state.widget_states.widgets.add()
        w.id = widget.id
        info = w.file_uploader_state_value.uploaded_file_info.add()
        info.file_id, info.name, info.size = urls.file_id, name, len(data)
        info.file_urls.CopyFrom(urls)
        return state


def _put_file(url: str, name: str, data: bytes, timeout: float) -> None:
    """The browser's upload: a multipart PUT with the XSRF cookie the health check hands out."""
    import requests

    with requests.Session() as http:
        http.get(url.split("/_stcore/")[0] + "/_stcore/health", timeout=10)
        token = http.cookies.get("_streamlit_xsrf", "")
        r = http.put(
            url,
            files={"file": (name, data, "text/csv")},
            headers={"X-Xsrftoken": token} if token else {},
            timeout=timeout,
        )
        r.raise_for_status()
