"""The one status / progress / error box of every page.

``prepared(label, work, what_to_do=...)`` runs ``work(progress)`` inside ``st.status`` with a progress
bar that ``progress(fraction, message)`` moves (fitting a model, a forecast, a backtest);
``reported(label, what_to_do=...)`` guards a quick step that needs no box (a cached lookup, a spinner).
Either way any exception becomes one ``st.error`` line and the page stops there (``stop=False`` lets
an optional step fail and the page go on without it):

- ``core.errors.DataError``: its own message, already one line written for the user;
- anything else: "<label> failed: <first line of the message>. <what_to_do>", without the exception's
  type name; the traceback goes to the server log (``logging``), never to the page.

Streamlit's own control flow (``st.stop``, ``st.rerun``, ``st.switch_page``) raises ``BaseException``
subclasses, which ``except Exception`` lets through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st

from core.errors import DataError
from core.memory import release_memory
from core.ui.cache import Progress
from core.ui.text import md_escape

T = TypeVar("T")

log = logging.getLogger(__name__)

MAX_MESSAGE = 300  # characters of an unexpected message shown; the log has all of it


def one_line(err: Exception, label: str, what_to_do: str) -> str:
    """What the page says about ``err``: a ``DataError`` as it is, else what failed and what to do."""
    lines = str(err).strip().splitlines()
    if isinstance(err, DataError) and lines:
        return lines[0]
    first = lines[0].strip().rstrip(".")[:MAX_MESSAGE] if lines else ""
    said = f"{label} failed: {first}." if first else f"{label} failed unexpectedly."
    return f"{said} {what_to_do}".strip()


def _fail(err: Exception, label: str, what_to_do: str, hint: str | None, stop: bool) -> None:
    if isinstance(err, DataError):
        log.info("%s: %s", label, err)
    else:
        log.error("%s failed", label, exc_info=err)
    st.error(md_escape(one_line(err, label, what_to_do)), icon=":material/error:")
    if hint:
        st.info(hint)
    if stop:
        st.stop()


def prepared(
    label: str,
    work: Callable[[Progress], T],
    *,
    what_to_do: str,
    ready: str | None = None,
    hint: str | None = None,
    stop: bool = True,
) -> T | None:
    """``work(progress)`` inside a status box with a progress bar; its result (``None`` only when
    it failed and ``stop`` is false).

    Parameters
    ----------
    label
        What is being done, e.g. "Preparing Isolation Forest" (the box shows "<label>…").
    work
        Called once with ``progress(fraction, message)``; fractions outside 0..1 are clipped.
    what_to_do
        One sentence appended to an unexpected error, e.g. "Pick another detector."
    ready
        The box's label once done (default "<label>: done").
    hint
        Shown under the error as ``st.info``, whatever failed.
    stop
        After an error, stop the page (default) or return ``None`` so it goes on without the result.
    """
    with st.status(f"{label}…", expanded=True) as box:
        bar = st.progress(0.0, text="Starting")

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

        try:
            result = work(progress)
        except Exception as err:  # any failure reads as one line; the traceback goes to the log
            box.update(label=f"{label}: failed", state="error", expanded=False)
            failure = err
            release_memory()
        else:
            release_memory()  # a fit's scratch memory back to the system (core.memory)
            box.update(label=ready or f"{label}: done", state="complete", expanded=False)
            return result
    _fail(failure, label, what_to_do, hint, stop)
    return None


@contextmanager
def reported(label: str, *, what_to_do: str, hint: str | None = None) -> Iterator[None]:
    """Run the ``with`` body; any exception in it becomes one ``st.error`` line and the page stops."""
    try:
        yield
    except Exception as err:  # any failure reads as one line; the traceback goes to the log
        _fail(err, label, what_to_do, hint, stop=True)
