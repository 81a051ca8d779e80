"""Who is using the app: sign-in in the sidebar, and the one place pages ask what the visitor may do.

=================================  ==============================================================
situation                          the visitor is
=================================  ==============================================================
the database has no users          the workspace (owner NULL, every role): a single-person
                                   install works as before, no sign-in box
users exist, nobody signed in      the public demo: bundled samples, sliders, SHAP, their own
                                   uploads for this session only; saved meters are never listed
                                   or opened, nothing is stored
signed in                          a member of one organisation (switchable when of several),
                                   seeing only its meters, with their role there *now*
=================================  ==============================================================

How to sign in: with an ``[auth]`` section in ``.streamlit/secrets.toml`` (see
``secrets.toml.example``) Streamlit's own OpenID Connect flow (``st.login`` / ``st.user`` /
``st.logout``): the provider's e-mail address must be a user made with ``python -m core users
create EMAIL --oidc --role ROLE --org ORG``. Without one, a local-account form (name, password:
``core.auth.signin``: slowed down, locked after 50 wrong passwords). The session token lives in
``st.session_state[TOKEN]`` (its sha256 in the database), is checked on every run, and ends after
``WATTSUP_SESSION_HOURS``; a browser reload is a new Streamlit session and signs in again.

For pages: ``current_access()`` (None: signed out), ``current_owner()`` (the owner to pass to a
repository; ``SignInRequired`` when signed out), ``can(scope)`` (hide a button), ``require_role(role)``
(first line of a page that needs one: says why and stops), ``require_scope(scope, what)`` (for
actions; a one-line DataError).
"""

from __future__ import annotations

import streamlit as st

from core.auth.accounts import access_of, session_access
from core.auth.roles import WORKSPACE, Access, at_least
from core.auth.signin import SignInError, authenticate, end_session, start_session
from core.errors import DataError
from core.store.users import SqlUserRepository
from core.ui.database import database_exists, store
from core.ui.text import md_escape

TOKEN = "_auth_token"  # session key: this session's sign-in token (local accounts)
ORG = "_auth_org"  # session key: the organisation chosen (a user of several)
NOTICE = "_auth_notice"  # session key: why the session ended (expired, removed)
RESET_KEYS = ("dataset_key", "sidebar_dataset", "upload_save_target")  # another org's meter names


class SignInRequired(DataError):
    """The visitor must sign in (with a role that allows it) for this."""


def _repo() -> SqlUserRepository:
    return SqlUserRepository(store())


def users_exist() -> bool:
    """True once the database has any user (no database file yet: False, and none is created)."""
    return database_exists() and _repo().any_users()


def oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` (or the test's secrets) has an ``[auth]`` section."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all, or an unreadable one: Streamlit raises its own
        return False


def _oidc_email() -> str | None:
    user = st.user
    if not user.get("is_logged_in"):
        return None
    if user.get("email_verified") is False:  # a provider that says it did not check the address
        return None
    email = user.get("email")
    return str(email).strip() if email else None


def current_access() -> Access | None:
    """What the visitor may do now (read on every call: a removed user or an expired session is
    signed out at the next run); None for a signed-out visitor while users exist."""
    if not users_exist():
        return WORKSPACE
    state = st.session_state
    if oidc_configured():
        email = _oidc_email()
        user = _repo().get(email) if email else None
        if user is None or not user.memberships:
            return None
        orgs = [m.org for m in user.memberships]
        org = state.get(ORG) if state.get(ORG) in orgs else orgs[0]
        return access_of(user.name, org, user.role_in(org))
    token = state.get(TOKEN)
    if not token:
        return None
    access = session_access(_repo(), token)
    if access is None:
        _forget_session("Your session ended (it expired, or your account changed): sign in again.")
    return access


def current_owner() -> str | None:
    """The owner of the visitor's rows (their organisation's; None = the workspace); a
    SignInRequired line for a signed-out visitor once users exist."""
    access = current_access()
    if access is None:
        raise SignInRequired("sign in to open saved meters.")
    return access.owner


def can(scope: str) -> bool:
    """True when the visitor has ``scope`` (read | write | admin)."""
    access = current_access()
    return access is not None and access.can(scope)


ARTICLE = {"viewer": "a viewer", "analyst": "an analyst", "admin": "an admin"}
WHO = {"read": "a viewer", "write": "an analyst", "admin": "an admin"}


def require_scope(scope: str, what: str) -> str | None:
    """The visitor's owner when they have ``scope``; else a SignInRequired line naming the role."""
    access = current_access()
    if access is None or not access.can(scope):
        role = WHO.get(scope, scope)
        now = f" (you are {ARTICLE.get(access.role, access.role)})" if access is not None else ""
        raise SignInRequired(f"sign in as {role} or above to {what}{now}.")
    return access.owner


def write_blocked(what: str) -> str | None:
    """Why a write action (``what``: "save this file as a meter") is not offered to this visitor,
    as one line; None when it is. None too when the database cannot be read: the action itself
    (through ``require_scope``) then fails with the database's own line, so nothing is let by."""
    try:
        access = current_access()
    except DataError:
        return None
    if access is not None and access.can("write"):
        return None
    if access is None:
        return f"Signed out: this stays in your session only. Sign in as an analyst to {what}."
    who = ARTICLE.get(access.role, access.role)
    return f"You are {who} in {access.org}: ask an admin for the analyst role to {what}."


def require_role(role: str) -> Access:
    """First line of a page that needs ``role``: the access, or one line saying why and a stop."""
    access = current_access()
    if access is not None and at_least(access.role, role):
        return access
    if access is None:
        st.info(
            f"Sign in (in the sidebar) as {ARTICLE.get(role, role)} or above to use this page.",
            icon=":material/lock:",
        )
    else:
        st.info(
            f"This page needs the {role} role; you are {ARTICLE.get(access.role, access.role)} "
            f"in {access.org}.",
            icon=":material/lock:",
        )
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises


# ---- the sidebar box ----------------------------------------------------------------------------
def _forget_session(notice: str | None = None) -> None:
    state = st.session_state
    for key in (TOKEN, ORG, *RESET_KEYS):
        state.pop(key, None)
    if notice:
        state[NOTICE] = notice


def _sign_in() -> None:
    """The form's callback: check the password, start a session, clear the password field."""
    state = st.session_state
    name, password = state.get("auth_name", ""), state.get("auth_password", "")
    state["auth_password"] = ""  # never kept past this callback
    try:
        repo = _repo()
        user = authenticate(repo, name, password)
        token = start_session(repo, user)
    except DataError as err:  # SignInError, or the database
        state[NOTICE] = str(err)
        return
    _forget_session()
    state[TOKEN] = token
    state.pop(NOTICE, None)


def _sign_out() -> None:
    try:
        end_session(_repo(), st.session_state.get(TOKEN))
    finally:
        _forget_session()


def _switch_org() -> None:
    org = st.session_state.get("auth_org_choice")
    for key in RESET_KEYS:
        st.session_state.pop(key, None)
    st.session_state[ORG] = org
    token = st.session_state.get(TOKEN)
    if token:  # a local session is bound to one organisation: start one in the new one
        repo = _repo()
        access = session_access(repo, token)
        user = repo.get(access.user) if access else None
        if user is not None and user.role_in(org):
            end_session(repo, token)
            st.session_state[TOKEN] = start_session(repo, user, org)


def sign_in_box() -> None:
    """The sidebar's sign-in (local form or identity provider) or who is signed in, with sign-out.
    Nothing at all while the database has no users."""
    try:
        if not users_exist():
            return
        access = current_access()
    except DataError:  # the saved-meter list below says in one line that the database failed
        return
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.warning(md_escape(notice), icon=":material/lock:")
    if access is not None:
        _signed_in(access)
    elif oidc_configured():
        _oidc_sign_in()
    else:
        _local_form()


def _signed_in(access: Access) -> None:
    st.markdown(
        f"Signed in as **{md_escape(access.user or '')}** ({access.role}, {md_escape(access.org)})"
    )
    user = _repo().get(access.user) if access.user else None
    orgs = [m.org for m in user.memberships] if user else []
    if len(orgs) > 1:
        st.session_state.setdefault("auth_org_choice", access.org)
        st.selectbox("Organisation", orgs, key="auth_org_choice", on_change=_switch_org)
    if oidc_configured():
        if st.button("Sign out", key="auth_sign_out", icon=":material/logout:"):
            _forget_session()
            st.logout()
    else:
        st.button("Sign out", key="auth_sign_out", icon=":material/logout:", on_click=_sign_out)


def _providers() -> list[str]:
    section = st.secrets.get("auth", {})
    return [k for k, v in section.items() if hasattr(v, "keys")]


def _oidc_sign_in() -> None:
    email = _oidc_email()
    if email:  # the provider knows them; this WattsUp does not (yet)
        st.info(
            md_escape(
                f"{email} has no access here yet: ask an admin to run `python -m core users "
                f"create {email} --oidc --role viewer --org ORG`."
            ),
            icon=":material/lock:",
        )
        if st.button("Sign out", key="auth_sign_out", icon=":material/logout:"):
            st.logout()
        return
    providers = _providers()
    for provider in providers or [None]:
        label = f"Sign in with {provider.title()}" if provider else "Sign in"
        if st.button(label, key=f"auth_login_{provider or 'default'}", icon=":material/login:"):
            if provider:
                st.login(provider)
            else:
                st.login()
    st.caption("Signed out: the bundled samples and your own uploads (for this session only).")


def _local_form() -> None:
    with st.form("auth_form", border=False):
        st.text_input("User name", key="auth_name", autocomplete="username")
        st.text_input(
            "Password", key="auth_password", type="password", autocomplete="current-password"
        )
        st.form_submit_button("Sign in", icon=":material/login:", on_click=_sign_in)
    st.caption("Signed out: the bundled samples and your own uploads (for this session only).")


__all__ = [
    "SignInError",
    "SignInRequired",
    "can",
    "current_access",
    "current_owner",
    "oidc_configured",
    "require_role",
    "require_scope",
    "write_blocked",
    "sign_in_box",
    "users_exist",
]
