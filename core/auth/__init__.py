"""Auth wing: users, organisations, passwords, API keys and sealed secrets (no streamlit, no web
framework: the app's form lives in ``core.ui.auth``, the API's check in ``core.api.deps``).

* ``roles``: viewer | analyst | admin -> scopes; ``Access`` (owner, user, org, role, scopes);
  ``WORKSPACE`` (everyone, while no user exists); ``owner_of(org)``.
* ``passwords``: argon2id hashing (argon2-cffi; why not streamlit-authenticator is said there).
* ``signin``: ``authenticate`` with the slow-down and the lock-out; sessions that expire.
* ``accounts``: create / grant / unlock / remove users; ``session_access``.
* ``apikeys``: create (shown once), ``authorise`` (on every request, never cached), revoke.
* ``secrets``: ``seal`` / ``unseal`` (Fernet) for secrets the program must send on; ``mask_url``.

May import: ``core.store``, ``core.errors``. Sits beside ``core.detect``.
"""
