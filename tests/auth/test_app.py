"""The app with users (AppTest over the real router): signed out is the public demo (no saved
meters, nothing stored), a local sign-in shows the organisation's meters only, a viewer cannot
save, and with an ``[auth]`` section Streamlit's own sign-in (``st.user``, set with ``at.user``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import delete, func, select
from streamlit.testing.v1 import AppTest

from core.auth import accounts, signin
from core.store.db import open_store
from core.store.meters import SqlMeterRepository
from core.store.schema import memberships, organisations, sessions
from core.store.users import SqlUserRepository
from core.ui import auth
from tests.app.conftest import (  # noqa: F401  (_no_legacy_pages_mode: autouse)
    APP,
    TIMEOUT,
    _no_legacy_pages_mode,
    detection,
    plain,
    sidebar_text,
)
from tests.auth.helpers import PASSWORDS, cheap_hashing
from tests.conftest import synthetic_frame

OIDC = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret",
    "client_id": "wattsup",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration",
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A database with a workspace meter, an acme meter, and alice (analyst) / vic (viewer) of
    acme, ana@example.com (identity provider, acme); Streamlit's caches emptied."""
    home = tmp_path / "home"
    monkeypatch.setenv("WATTSUP_HOME", str(home))
    monkeypatch.delenv("WATTSUP_DATABASE_URL", raising=False)
    store = open_store(home=home)
    meters = SqlMeterRepository(store)
    frame = synthetic_frame(3)
    meters.import_frame("ws-meter", frame, unit="kWh")
    meters.import_frame("acme-meter", frame, unit="kWh", owner="acme")
    repo = SqlUserRepository(store)
    with cheap_hashing():
        accounts.create_user(repo, "alice", PASSWORDS["alice"], role="analyst", org="acme")
        accounts.create_user(repo, "vic", PASSWORDS["vic"], role="viewer", org="acme")
        accounts.create_user(repo, "ana@example.com", None, role="analyst", org="acme")
        store.close()
        st.cache_data.clear()
        st.cache_resource.clear()
        yield home
    st.cache_data.clear()
    st.cache_resource.clear()


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def session(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["detection_choice"] = detection()
    for key, value in state.items():
        at.session_state[key] = value
    return at


def dataset_options(at: AppTest) -> list[str]:
    return list(at.sidebar.selectbox(key="sidebar_dataset").options)


def saved(at: AppTest) -> list[str]:
    """The saved meters the sidebar's dataset switch offers."""
    tail = " (saved meter)"
    return [o.removesuffix(tail) for o in dataset_options(at) if o.endswith(tail)]


def side(at: AppTest) -> str:
    """The sidebar's markdown, warnings and captions as a reader sees them."""
    texts = [sidebar_text(at), *(plain(w.value) for w in [*at.sidebar.warning, *at.sidebar.info])]
    return " ".join(texts).replace("**", "")


def everything(at: AppTest) -> str:
    texts = [str(getattr(el, "value", "")) for el in at.main] + [side(at)]
    return " ".join(texts)


def token_for(home: Path, name: str) -> str:
    store = open_store(home=home)
    try:
        repo = SqlUserRepository(store)
        return signin.start_session(repo, repo.get(name))
    finally:
        store.close()


def test_signed_out_is_the_public_demo(home: Path) -> None:
    """Signed out: a sign-in form, the samples, no saved meter anywhere (list, URL), no saving."""
    at = session()
    at.query_params["meter"] = "acme-meter"
    run(at)
    assert [t.label for t in at.sidebar.text_input] == ["User name", "Password"]
    assert saved(at) == []
    assert "sign in to open saved meters" in side(at)
    assert not [h for h in at.subheader if h.value == "Save as meter"]
    assert any("Signed out" in c.value for c in at.caption)
    other = session()
    other.query_params["meter"] = "no-such-meter"
    run(other)  # the notice for a meter that does not exist reads the same: no existence leak
    assert side(other).replace("no-such-meter", "X") == side(at).replace("acme-meter", "X")


def test_local_sign_in_shows_only_the_orgs_meters(home: Path) -> None:
    """A wrong password says so (and is not kept); the right one signs alice in: acme's meter is
    listed, the workspace's is not, and she may save; sign-out ends it."""
    at = run(session())
    at.sidebar.text_input(key="auth_name").input("alice")
    at.sidebar.text_input(key="auth_password").input("not-the-password")
    at.sidebar.button[0].click()
    run(at)
    assert "wrong user name or password" in side(at)
    assert "not-the-password" not in everything(at)
    assert at.session_state["auth_password"] == ""
    at.sidebar.text_input(key="auth_name").input("alice")
    at.sidebar.text_input(key="auth_password").input(PASSWORDS["alice"])
    at.sidebar.button[0].click()
    run(at)
    assert "Signed in as alice (analyst, acme)" in side(at)
    assert PASSWORDS["alice"] not in everything(at)
    assert saved(at) == ["acme-meter"]
    assert [h for h in at.subheader if h.value == "Save as meter"]
    at.sidebar.button(key="auth_sign_out").click()
    run(at)
    assert [t.label for t in at.sidebar.text_input] == ["User name", "Password"]
    assert saved(at) == []


def test_viewer_sees_meters_but_cannot_save(home: Path) -> None:
    """vic (viewer) lists acme's meter, and the Upload page offers no saving."""
    at = run(session(**{auth.TOKEN: token_for(home, "vic")}))
    assert "Signed in as vic (viewer, acme)" in side(at)
    assert saved(at) == ["acme-meter"]
    assert not [h for h in at.subheader if h.value == "Save as meter"]
    assert any("You are a viewer in acme" in c.value for c in at.caption)


def test_removed_user_is_signed_out_at_the_next_run(home: Path) -> None:
    """Removing alice ends her running session: the next run is signed out, her meter gone."""
    at = run(session(**{auth.TOKEN: token_for(home, "alice")}))
    at.sidebar.selectbox(key="sidebar_dataset").set_value("meter:acme-meter")  # the option key
    run(at)
    assert "acme-meter" in side(at)
    store = open_store(home=home)
    accounts.remove_user(SqlUserRepository(store), "alice")
    store.close()
    run(at)
    assert "Your session ended" in side(at)
    assert "acme-meter" not in " ".join(dataset_options(at)) + side(at)


def test_removed_from_the_org_loses_it_at_the_next_run(home: Path) -> None:
    """alice (acme, and globex since) is signed in to acme with acme's meter open. Only her acme
    membership row goes (her session row stays): her next run is signed out, acme's meter gone
    from the list and the page back on the sample. An identity-provider user taken out with
    ``leave`` (what ``users remove NAME --org ORG`` runs) loses the org's meters the same way."""
    store = open_store(home=home)
    repo = SqlUserRepository(store)
    repo.grant("alice", "globex", "viewer")
    alice = repo.get("alice")
    at = run(session(**{auth.TOKEN: token_for(home, "alice")}))
    at.sidebar.selectbox(key="sidebar_dataset").set_value("meter:acme-meter")
    run(at)
    assert "acme-meter" in side(at) and "Signed in as alice (analyst, acme)" in side(at)
    with store.writing() as conn:
        acme = conn.scalar(select(organisations.c.id).where(organisations.c.slug == "acme"))
        conn.execute(
            delete(memberships).where(
                memberships.c.user_id == alice.id, memberships.c.org_id == acme
            )
        )
        assert conn.scalar(select(func.count()).select_from(sessions)) == 1  # still there
    run(at)
    assert "Your session ended" in side(at)
    assert "acme-meter" not in " ".join(dataset_options(at)) + side(at)
    assert "Name: University building" in side(at)
    oidc = session()
    oidc.secrets["auth"] = OIDC
    oidc.user = {"is_logged_in": True, "email": "ana@example.com"}
    run(oidc)
    assert saved(oidc) == ["acme-meter"]
    assert repo.leave("ana@example.com", "acme") == 0
    store.close()
    run(oidc)
    assert saved(oidc) == [] and "Signed in" not in side(oidc)
    assert "ana@example.com has no access here yet" in side(oidc)


def test_identity_provider_sign_in(home: Path) -> None:
    """With [auth]: a Sign in button (st.login) and no password form while st.user is logged
    out; a known e-mail is signed in to its org; an unknown one is told to ask an admin."""
    at = session()
    at.secrets["auth"] = OIDC
    at.user = {"is_logged_in": False}
    run(at)
    assert not at.sidebar.text_input
    assert [b.label for b in at.sidebar.button] == ["Sign in"]
    at = session()
    at.secrets["auth"] = OIDC
    at.user = {"is_logged_in": True, "email": "ana@example.com", "name": "Ana"}
    run(at)
    assert "Signed in as ana@example.com (analyst, acme)" in side(at)
    assert saved(at) == ["acme-meter"]
    at = session()
    at.secrets["auth"] = OIDC
    at.user = {"is_logged_in": True, "email": "ana@example.com", "email_verified": False}
    run(at)  # an address the provider did not check opens nothing
    assert "Signed in" not in side(at) and saved(at) == []
    at = session()
    at.secrets["auth"] = OIDC
    at.user = {"is_logged_in": True, "email": "mallory@example.com"}
    run(at)
    assert "mallory@example.com has no access here yet" in side(at)
    assert saved(at) == []


def test_member_of_two_orgs_switches_between_them(home: Path) -> None:
    """A user of acme (analyst) and globex (viewer) picks the organisation in the sidebar: the
    meters and the role follow, and the session is bound to the one chosen."""
    store = open_store(home=home)
    repo = SqlUserRepository(store)
    repo.grant("alice", "globex", "viewer")
    SqlMeterRepository(store).import_frame("globex-meter", synthetic_frame(3), owner="globex")
    store.close()
    at = run(session(**{auth.TOKEN: token_for(home, "alice")}))
    assert "Signed in as alice (analyst, acme)" in side(at)
    assert saved(at) == ["acme-meter"]
    at.sidebar.selectbox(key="auth_org_choice").set_value("globex")
    run(at)
    assert "Signed in as alice (viewer, globex)" in side(at)
    assert saved(at) == ["globex-meter"]


def test_other_orgs_meter_by_url_reads_like_a_missing_one(home: Path) -> None:
    """alice (acme) opening ?meter=ws-meter (the default organisation's) is told exactly what she
    is told for a meter that does not exist, and the dataset stays the default sample."""
    notices = {}
    for name in ("ws-meter", "no-such-meter"):
        at = session(**{auth.TOKEN: token_for(home, "alice")})
        at.query_params["meter"] = name
        run(at)
        notices[name] = side(at).replace(name, "X")
        assert "Name: University building" in side(at)
    assert notices["ws-meter"] == notices["no-such-meter"]
    assert "could not be opened" in notices["ws-meter"]
