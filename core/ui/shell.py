"""What every page shares: the navigation list, session defaults, the sidebar and the current dataset.

Not a page (the leading underscore keeps it out of any page list); the router and the pages import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.ingest.data import DataError, Dataset
from core.ui import cache
from core.ui.memory import freeze_imports
from core.ui.state import forget
from core.ui.text import md_escape


@dataclass(frozen=True)
class NavPage:
    path: str
    title: str
    url_path: str
    icon: str
    default: bool = False


NAV: tuple[NavPage, ...] = (
    NavPage("pages/1_upload.py", "Upload", "upload", ":material/upload_file:", default=True),
    NavPage("pages/2_forecasting.py", "Forecasting", "forecasting", ":material/timeline:"),
    NavPage(
        "pages/3_anomaly_detection.py",
        "Anomaly detection",
        "anomaly_detection",
        ":material/warning:",
    ),
    NavPage(
        "pages/4_explainability.py", "Explainability", "explainability", ":material/lightbulb:"
    ),
    NavPage("pages/5_live_simulation.py", "Live simulation", "live_simulation", ":material/bolt:"),
)


ROUTER_FLAG = "_wattsup_router"  # set by streamlit_app.py on every run that goes through it


HOME = ""  # key of the page served at "/"


def st_pages() -> dict[str, Any]:
    """url path -> ``st.Page`` for ``NAV`` (url paths equal the legacy file-derived names on purpose),
    plus ``HOME``: the page at "/", which opens the default page at its own URL.

    Streamlit serves its default page only at "/", so ``/upload`` would answer "Page not found" if
    Upload itself were the default; every page in ``NAV`` therefore keeps its own URL.
    """
    pages = {
        n.url_path: st.Page(n.path, title=n.title, url_path=n.url_path, icon=n.icon) for n in NAV
    }
    default = pages[next(n.url_path for n in NAV if n.default)]

    def home() -> None:
        st.switch_page(default)

    pages[HOME] = st.Page(home, title=default.title, url_path="home", default=True)
    return pages


PAGE_CONFIG = {"page_title": "WattsUp", "page_icon": "⚡", "layout": "wide"}


def require_router() -> None:
    """First line of every page: make sure the page runs inside ``streamlit_app.py``.

    Right after the server starts, Streamlit sees a ``pages/`` folder and, for the first run of the
    first session, runs the requested page file directly ("legacy" multipage mode): no page config, no
    sidebar, raw file names. Registering our navigation switches legacy mode off for the whole server,
    and the rerun goes through the router; the URL still names the same page. Only the very first
    run is thrown away, before anyone could have pressed anything.

    It is also where each run starts, so it keeps Streamlit's collection after the run cheap
    (``core.ui.memory.freeze_imports``).
    """
    freeze_imports()
    if st.session_state.pop(
        ROUTER_FLAG, False
    ):  # the router sets it on every run, the page takes it
        return
    st.navigation(list(st_pages().values()), position="hidden")
    st.rerun()


def session_defaults() -> dict[str, Any]:
    """Small things only: the dataset handle. Page-local keys are set by their pages."""
    return {"dataset_key": cache.default_ref()}


def current_ref() -> cache.DatasetRef:
    ref = st.session_state.get("dataset_key")
    return ref if isinstance(ref, cache.DatasetRef) else cache.default_ref()


def current_dataset() -> Dataset:
    """The current dataset; if it cannot be rebuilt, say why and fall back to the default sample."""
    ref = current_ref()
    try:
        return cache.dataset(ref)
    except DataError as err:
        st.error(md_escape(f"{ref.name}: {err}"))  # a file name and a message quoting the file
        st.session_state["dataset_key"] = cache.default_ref()
        return cache.dataset(cache.default_ref())


def plotly_template() -> str | None:
    """No server-side template: charts are drawn with ``theme="streamlit"``, which styles them in
    the browser from the current theme, so a switch between light and dark restyles every chart at
    once (the server is not rerun on a theme change, so a template chosen here would go stale)."""
    return None


def describe(ds: Dataset) -> dict[str, str]:
    """Name, rows, period, step and unit in words."""
    idx = ds.frame.index
    step = ds.freq
    minutes = int(step.total_seconds() // 60)
    step_txt = (
        f"{minutes} min"
        if minutes < 60
        else f"{minutes // 60} h"
        if minutes < 1440
        else f"{minutes // 1440} d"
    )
    return {
        "Name": ds.name,
        "Rows": f"{len(ds.frame):,}",
        "Period": f"{idx[0]:%Y-%m-%d} → {idx[-1]:%Y-%m-%d}" if len(idx) else "empty",
        "Step": step_txt,
        "Unit": ds.unit,
    }


def _switch_sample() -> None:
    choice = st.session_state.get("sidebar_dataset")
    if choice and choice != "__current__":
        st.session_state["dataset_key"] = cache.DatasetRef.sample(choice)
        forget("explain_")  # events, picks and views of another dataset


def sidebar(pages: dict[str, Any] | None = None) -> None:
    """App navigation (our own labels) and the current dataset with a switch to a bundled sample."""
    with st.sidebar:
        st.markdown("### ⚡ WattsUp")
        for nav in NAV:
            target = pages[nav.url_path] if pages else nav.path
            st.page_link(target, label=nav.title, icon=nav.icon)
        st.divider()
        ds = current_dataset()
        ref = current_ref()
        st.markdown("**Current dataset**")
        facts = describe(ds)
        st.markdown("\n".join(f"- {k}: **{md_escape(v)}**" for k, v in facts.items()))
        samples = cache.sample_options()
        options = list(samples)
        is_plain_sample = (
            ref.source == "sample"
            and ref.name in samples
            and ref == cache.DatasetRef.sample(ref.name)
        )
        if not is_plain_sample:
            options = ["__current__", *options]
        st.session_state["sidebar_dataset"] = ref.name if is_plain_sample else "__current__"
        st.selectbox(
            "Switch to a bundled sample",
            options,
            key="sidebar_dataset",
            format_func=lambda k: f"{ds.name} (current)" if k == "__current__" else samples[k],
            on_change=_switch_sample,
            help="Upload your own file on the Upload page.",
        )
