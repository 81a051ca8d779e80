"""A real server under two sessions: a light one keeps answering while a heavy upload is read.

These drive ``streamlit run`` on 127.0.0.1 with the light client of ``benchmarks/_app_client.py``
(Streamlit's own WebSocket protocol, no browser), so they see what a browser tab would: a session
of its own, the page's fragments, the upload through ``/_stcore/upload_file``.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from benchmarks._app_client import Session, serve
from benchmarks.load import PAGE, SLIDER_KEY, hostile_csv


def run_in_own_thread(coroutine) -> None:
    """``asyncio.run`` in a thread of its own: a test process that already drove Playwright's sync
    API (e2e tests in the same pytest worker) has an event loop running in its main thread."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


WORKER = "core.ingest.worker"  # the module every upload is read in (core.ingest.guarded)
WAIT_S = 120  # a hang guard only: nothing here is a timing target


@pytest.fixture(scope="module")
def server():
    with serve() as running:
        yield running


def _reader(server) -> psutil.Process | None:
    """The upload's reader process, if one is running now."""
    for child in psutil.Process(server.proc.pid).children(recursive=True):
        try:
            if WORKER in " ".join(child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    return None


async def _wait_for_reader(server) -> psutil.Process:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = _reader(server)
        if found is not None:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {WORKER} process appeared within {WAIT_S} s")


def test_light_session_answers_while_a_heavy_upload_is_read(server):
    """While one session's upload is held in its reader process, another session opens the
    detection page and moves the threshold, and its counters follow; the upload then finishes."""
    rows = 200_000

    async def scenario() -> None:
        light, heavy = Session(server.url), Session(server.url)
        try:
            await asyncio.wait_for(light.open(PAGE), WAIT_S)
            await asyncio.wait_for(heavy.open("upload"), WAIT_S)
            before = light.metrics["Flagged readings"]
            state = await heavy.put_upload("upload_file", "big.csv", hostile_csv(rows), WAIT_S)
            sent = await heavy.send(state)
            reader = await _wait_for_reader(server)
            reader.suspend()  # the read now takes as long as this test likes
            try:
                await asyncio.wait_for(light.set_number(SLIDER_KEY, 4.0), WAIT_S)
                assert light.metrics["Flagged readings"] != before
                assert not light.errors, light.errors
                assert reader.status() == psutil.STATUS_STOPPED  # the upload is still being read
            finally:
                reader.resume()
            await asyncio.wait_for(heavy.finished(sent, WAIT_S), WAIT_S)
            assert heavy.metrics.get("Rows") == f"{rows:,}", heavy.metrics
            assert not heavy.errors, heavy.errors
        finally:
            await light.close()
            await heavy.close()

    run_in_own_thread(scenario())


def test_threshold_slider_reruns_only_the_studio_fragment(server):
    """The threshold slider sits in a fragment, and moving it ends as a fragment run: the router,
    the sidebar and the page header are not run again."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async def scenario() -> None:
        tab = Session(server.url)
        try:
            await asyncio.wait_for(tab.open(PAGE), WAIT_S)
            assert tab.widgets[SLIDER_KEY].fragment_id
            assert not tab.widgets["sidebar_dataset"].fragment_id
            await asyncio.wait_for(tab.set_number(SLIDER_KEY, 3.0), WAIT_S)
            assert tab.last_status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
            assert not tab.errors, tab.errors
        finally:
            await tab.close()

    run_in_own_thread(scenario())
