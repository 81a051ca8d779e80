"""What every page shares: the navigation list, session defaults, the sidebar and the current dataset.

Not a page (the leading underscore keeps it out of any page list); the router and the pages import it.

The current dataset is ``st.session_state["dataset_key"]`` (a ``DatasetRef``) and is also named in the
URL, so a browser reload (a new session) opens it again: ``?meter=NAME`` for a saved meter,
``?sample=KEY`` for a bundled sample other than the default, ``?dataset=TOKEN`` for an upload or a
sample with its own column and cleaning choices (the token names the ref in a bounded map of this
server process; its bytes must still be held, else the reload says so). The sidebar reads the URL at
a session's first run (``restore_from_url``, session key ``_dataset_url_read``) and writes it on
every run (``sync_url``). The session keeps the bytes of its own current upload
(``upload_pinned``), so other people's uploads, which push it out of the shared in-memory store,
never take it away.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.ingest.data import DataError, Dataset
from core.memory import freeze_imports, limit_malloc_arenas
from core.store.memory import BoundedLRU
from core.ui import auth, cache, hosting, meters
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
    NavPage("pages/6_portfolio.py", "Portfolio", "portfolio", ":material/grid_view:"),
    NavPage("pages/7_alerts.py", "Alerts", "alerts", ":material/notifications:"),
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
    (``core.memory.freeze_imports``) and, once per process, caps glibc's malloc arenas
    (``core.memory.limit_malloc_arenas``).
    """
    limit_malloc_arenas()
    freeze_imports()
    if st.session_state.pop(
        ROUTER_FLAG, False
    ):  # the router sets it on every run, the page takes it
        return
    st.navigation(list(st_pages().values()), position="hidden")
    st.rerun()


URL_KEYS = ("meter", "sample", "dataset")  # the query parameters that name the current dataset
URL_READ = "_dataset_url_read"  # session key: this session has opened the dataset its URL names
URL_NOTICE = "_dataset_url_notice"  # session key: why the URL's (or the switch's) dataset failed
PINNED = "upload_pinned"  # session key: (sha256, file name, bytes) of the session's current upload
METER = "meter:"  # sidebar option prefix of a saved meter
MAX_URL_REFS = 256  # refs named by a ?dataset= token, per server process (each a few hundred bytes)


def session_defaults() -> dict[str, Any]:
    """Small things only: the dataset handle. Page-local keys are set by their pages."""
    return {"dataset_key": cache.default_ref()}


def current_ref() -> cache.DatasetRef:
    ref = st.session_state.get("dataset_key")
    return ref if isinstance(ref, cache.DatasetRef) else cache.default_ref()


def pin_upload(digest: str, filename: str, data: bytes) -> None:
    """Keep this session's current upload (``PINNED``): see the module docstring."""
    st.session_state[PINNED] = (digest, filename, data)


def _hold_pinned(ref: cache.DatasetRef) -> None:
    """Put the session's pinned upload back into the shared store when others pushed it out."""
    pinned = st.session_state.get(PINNED)
    if ref.source != "upload" or not pinned or pinned[0] != ref.digest:
        return
    if not cache.upload_held(ref.digest):
        cache.remember_upload(pinned[2], pinned[1])


def set_dataset(ref: cache.DatasetRef) -> None:
    """Make ``ref`` the current dataset of every page (the URL follows on the next run)."""
    st.session_state["dataset_key"] = ref
    st.session_state.pop(URL_NOTICE, None)
    forget("explain_")  # events, picks and views of another dataset


def current_dataset() -> Dataset:
    """The current dataset; if it cannot be rebuilt, say why and fall back to the default sample."""
    ref = current_ref()
    if ref.source == "meter" and not _may_open(ref):  # signed out, or another organisation's
        st.session_state["dataset_key"] = ref = cache.default_ref()
    _hold_pinned(ref)
    try:
        try:
            return cache.dataset(ref)
        except meters.MeterChanged:  # saved into meanwhile: the meter as it is now, same name
            ref = meters.open_meter(ref.name)
            st.session_state["dataset_key"] = ref
            return cache.dataset(ref)
    except DataError as err:
        st.error(md_escape(f"{ref.name}: {err}"))  # a file name and a message quoting the file
        st.session_state["dataset_key"] = cache.default_ref()
        return cache.dataset(cache.default_ref())


def _may_open(ref: cache.DatasetRef) -> bool:
    """True when the visitor may see the saved meter ``ref`` now (``core.ui.auth``)."""
    try:
        access = auth.current_access()
    except DataError:
        return False
    return access is not None and access.owner == ref.owner


def plotly_template() -> str | None:
    """No server-side template: charts are drawn with ``theme="streamlit"``, which styles them in
    the browser from the current theme, so a switch between light and dark restyles every chart at
    once (the server is not rerun on a theme change, so a template chosen here would go stale)."""
    return None


def describe(ds: Dataset) -> dict[str, str]:
    """Name (and the meter, for one meter of a multi-meter file), rows, period, step and unit."""
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
    meter = {"Meter": str(ds.schema.meter)} if ds.schema.meter else {}  # one of a multi-meter file
    return {
        "Name": ds.name,
        **meter,
        "Rows": f"{len(ds.frame):,}",
        "Period": f"{idx[0]:%Y-%m-%d} → {idx[-1]:%Y-%m-%d}" if len(idx) else "empty",
        "Step": step_txt,
        "Unit": ds.unit,
    }


# ---- the dataset in the URL ---------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _url_refs() -> BoundedLRU:
    return BoundedLRU(MAX_URL_REFS)


def url_params(ref: cache.DatasetRef) -> dict[str, str]:
    """The query parameters that name ``ref`` (none for the default sample)."""
    if ref.source == "meter":
        return {"meter": ref.name}
    if ref == cache.default_ref():
        return {}
    if ref.source == "sample" and ref == cache.DatasetRef.sample(ref.name):
        return {"sample": ref.name}
    token = hashlib.sha256(repr(ref).encode()).hexdigest()[:16]
    _url_refs().put(token, ref)
    return {"dataset": token}


def ref_from_url(params: Mapping[str, str]) -> tuple[cache.DatasetRef | None, str]:
    """The dataset ``params`` name, or None and why it cannot be opened ("" when none is named)."""
    if name := params.get("meter"):
        try:
            return meters.open_meter(name), ""
        except DataError as err:
            return None, f"The saved meter {name} of this address could not be opened: {err}"
    if key := params.get("sample"):
        if key in cache.sample_options():
            return cache.DatasetRef.sample(key), ""
        return None, f"There is no bundled sample {key}: this is the default sample."
    if token := params.get("dataset"):
        ref = _url_refs().get(token)
        if ref is not None and (ref.source != "upload" or cache.upload_held(ref.digest)):
            return ref, ""
        what = f"The uploaded file {ref.name}" if ref else "The file of this address"
        return None, (
            f"{what} is no longer held by the server: upload it again (Save as meter on the "
            "Upload page keeps a file across restarts)."
        )
    return None, ""


def restore_from_url() -> None:
    """At a session's first run, open the dataset its URL names (a reload keeps the dataset)."""
    state = st.session_state
    if state.get(URL_READ):
        return
    state[URL_READ] = True
    ref, notice = ref_from_url(st.query_params.to_dict())
    if ref is not None:
        state["dataset_key"] = ref
    if notice:
        state[URL_NOTICE] = notice


def sync_url(ref: cache.DatasetRef) -> None:
    """Name ``ref`` in the URL (``url_params``), leaving other query parameters alone."""
    want = url_params(ref)
    params = st.query_params
    if {k: params[k] for k in URL_KEYS if k in params} == want:
        return
    for key in URL_KEYS:
        if key in params and key not in want:
            del params[key]
    for key, value in want.items():
        params[key] = value


# ---- the sidebar ---------------------------------------------------------------------------------
def _switch_dataset() -> None:
    choice = st.session_state.get("sidebar_dataset")
    if not choice or choice == "__current__":
        return
    if not choice.startswith(METER):
        set_dataset(cache.DatasetRef.sample(choice))
        return
    try:
        set_dataset(meters.open_meter(choice.removeprefix(METER)))
    except DataError as err:  # shown by the sidebar on this run (a callback's output is lost)
        st.session_state[URL_NOTICE] = str(err)


def _saved_meters() -> list[str]:
    """The saved meters' names; [] with one warning line while the database cannot be read."""
    try:
        return meters.meter_names()
    except DataError as err:
        st.warning(md_escape(f"Saved meters are not available: {err}"), icon=":material/error:")
        return []


def sidebar(pages: dict[str, Any] | None = None) -> None:
    """App navigation (our own labels) and the current dataset with a switch to a bundled sample
    or a saved meter; on a hosted server without a database, that saved data may not persist."""
    hosting.apply_secrets()  # before anything opens the database
    restore_from_url()
    with st.sidebar:
        st.markdown("### ⚡ WattsUp")
        for nav in NAV:
            target = pages[nav.url_path] if pages else nav.path
            st.page_link(target, label=nav.title, icon=nav.icon)
        st.divider()
        auth.sign_in_box()  # nothing while the database has no users
        notice = st.session_state.get(URL_NOTICE)
        if notice:
            st.warning(md_escape(notice), icon=":material/error:")
        ds = current_dataset()
        ref = current_ref()
        sync_url(ref)
        st.markdown("**Current dataset**")
        facts = describe(ds)
        st.markdown("\n".join(f"- {k}: **{md_escape(v)}**" for k, v in facts.items()))
        samples = cache.sample_options()
        saved = _saved_meters()
        options = [*samples, *(METER + name for name in saved)]
        if ref.source == "meter" and ref.name in saved:
            current = METER + ref.name
        elif (
            ref.source == "sample"
            and ref.name in samples
            and ref == cache.DatasetRef.sample(ref.name)
        ):
            current = ref.name
        else:
            current = "__current__"
            options = [current, *options]
        st.session_state["sidebar_dataset"] = current

        def label(key: str) -> str:
            if key == "__current__":
                return f"{ds.name} (current)"
            if key.startswith(METER):
                return f"{key.removeprefix(METER)} (saved meter)"
            return samples[key]

        st.selectbox(
            "Switch dataset",
            options,
            key="sidebar_dataset",
            format_func=label,
            on_change=_switch_dataset,
            help="A bundled sample, or a meter saved on the Upload page.",
        )
        if notice := hosting.storage_notice():
            st.caption(notice)
