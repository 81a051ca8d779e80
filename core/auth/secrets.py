"""Sealed secrets: channel URLs, SMTP passwords and the like, kept in the database only encrypted.

=========================  =================================================================
name                       meaning
=========================  =================================================================
``seal(text)``             encrypts ``text`` (Fernet: AES-128-CBC + HMAC-SHA256, with a time
                           stamp) into an ASCII token safe to store in a String column
``unseal(token)``          the text back; a :class:`SecretKeyError` line when the key that
                           sealed it is gone (the key changed) or the token was altered
``mask_url(url)``          a URL safe to show or log: ``scheme://host`` kept, user, password,
                           path (webhook tokens live there) and query values replaced by ``***``
``WATTSUP_SECRET_KEY``     the key: one Fernet key (``Fernet.generate_key()``), or several
                           separated by commas to rotate (the first seals, all open)
``WATTSUP_HOME/secret.key``  used when the variable is unset: created on first use, mode 0600
=========================  =================================================================

Passwords of users are never sealed: they are hashed (``core.auth.passwords``) because nobody ever
needs them back. Sealing is for secrets the program itself must send on (a webhook URL, an SMTP
password). Losing the key loses those secrets, not the data: the error says to restore the key or
enter the secret again.

May import: ``core.errors``, ``core.store`` (the home folder).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.errors import DataError
from core.store.db import home_dir

KEY_VAR = "WATTSUP_SECRET_KEY"
KEY_FILE = "secret.key"
MASK = "***"
# a host worth showing looks like a name or an address; apprise puts bot tokens where a host goes
# (tgram://123456:ABC-token/chat), so anything else is masked too
_HOSTLIKE = re.compile(r"^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|\[[0-9A-Fa-f:.]+\])$")


_QUERY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}=")


class SecretKeyError(DataError):
    """The secret key is missing, malformed, or not the one a token was sealed with."""


def key_path() -> Path:
    """Where the key file lives when ``WATTSUP_SECRET_KEY`` is unset."""
    return home_dir() / KEY_FILE


def _fernet(raw: str, where: str) -> Fernet:
    try:
        return Fernet(raw.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise SecretKeyError(
            f"{where} is not a Fernet key (44 characters of URL-safe base64); make one with "
            '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.'
        ) from None


def _key_file() -> str:
    """The key file's text, created atomically with mode 0600 on first use (two processes racing
    to create it end up with the same key: the second one's link fails and it reads the first's)."""
    path = key_path()
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-", suffix=".tmp")
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, Fernet.generate_key() + b"\n")
                os.close(fd)
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, path)  # atomic; never replaces a key another process made
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        except OSError as err:
            raise SecretKeyError(
                f"cannot create the secret key file {path} ({err.strerror}); set {KEY_VAR} or "
                "WATTSUP_HOME to a writable folder."
            ) from None
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as err:
        raise SecretKeyError(
            f"cannot read the secret key file {path} ({getattr(err, 'strerror', err)}); restore it "
            f"or set {KEY_VAR}."
        ) from None


def _keys() -> MultiFernet:
    raw = os.environ.get(KEY_VAR, "").strip()
    if raw:
        parts = [p for p in raw.split(",") if p.strip()]
        return MultiFernet([_fernet(p, KEY_VAR) for p in parts])
    return MultiFernet([_fernet(_key_file(), str(key_path()))])


def seal(text: str) -> str:
    """``text`` encrypted with the current key, as an ASCII token (about 1.4 x its length + 100)."""
    if not isinstance(text, str):
        raise TypeError("seal() takes a str")
    return _keys().encrypt(text.encode("utf-8")).decode("ascii")


def unseal(token: str) -> str:
    """The text a :func:`seal` token holds; :class:`SecretKeyError` when this key cannot open it."""
    try:
        return _keys().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, AttributeError):
        where = KEY_VAR if os.environ.get(KEY_VAR, "").strip() else str(key_path())
        raise SecretKeyError(
            f"cannot open a sealed secret: the secret key ({where}) is not the one it was sealed "
            "with (the key changed, or the value was altered); restore the old key, or enter the "
            "secret again."
        ) from None


def mask_url(url: str) -> str:
    """``url`` with every part that may be a secret replaced by ``***``.

    ``https://user:pw@hooks.example.com/services/T0/B0/XYZ?token=abc&x=1`` ->
    ``https://***:***@hooks.example.com/***?token=***&x=***``. The scheme, a host that looks like a
    host name and the port stay (enough to tell channels apart); anything not parseable as a URL
    comes back as ``***``.
    """
    try:
        parts = urlsplit(str(url).strip())
    except ValueError:
        return MASK
    try:
        port = parts.port
    except ValueError:  # "host:token" (apprise's bot tokens): not a port, so all of it is secret
        port, bad_port = None, True
    else:
        bad_port = False
    if not parts.scheme or not parts.netloc:
        return MASK
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    shown = host if _HOSTLIKE.match(host) and not bad_port else MASK
    out = f"{parts.scheme}://"
    if "@" in parts.netloc:
        out += MASK + (f":{MASK}" if parts.password is not None else "") + "@"
    out += shown + (f":{port}" if port is not None and shown != MASK else "")
    if parts.path.strip("/"):
        out += "/" + MASK
    if parts.query:
        # a name is shown only when it is a short word followed by "=": a bare ``?abc123`` may be a key
        pairs = [
            p.split("=", 1)[0] if _QUERY_NAME.match(p) else MASK for p in parts.query.split("&")
        ]
        out += "?" + "&".join(f"{k}={MASK}" if k != MASK else MASK for k in pairs)
    if parts.fragment:
        out += "#" + MASK
    return out
