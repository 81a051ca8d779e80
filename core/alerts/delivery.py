"""Sending one message to one channel: the ``Notifier`` seam, Apprise behind it, retries, and logs
that never show a channel's URL.

``Notifier`` is a ``typing.Protocol``: ``send(url, subject, body) -> Outcome``. ``AppriseNotifier`` is
the one the worker and the app use (Apprise: ``mailto://HOST:PORT?from=A&to=B`` for a plain SMTP
relay, ``mailtos://user:password@host`` with login, ``json://host/path`` webhooks, ``slack://``,
``ntfy://``, ``tgram://``, ...). Tests use it against real local servers; another notifier only
needs the one method.

``deliver`` tries ``RetryPolicy.tries`` times (default 3) with a growing pause (``backoff_s``, then
x ``factor``): ``WATTSUP_ALERT_TRIES`` and ``WATTSUP_ALERT_BACKOFF_S`` set the defaults. The error
kept is the channel's own words (Apprise's warning, the SMTP or HTTP error), scrubbed.

Secrets in logs: Apprise masks passwords but prints paths and query strings (a Slack or Teams webhook's
token lives there) when its logger is at DEBUG, and urllib3 prints request paths. Every URL this
module sends to is registered with :func:`register_secret`, and a filter on the ``apprise`` and
``urllib3`` loggers replaces each secret part (user, password, path parts, query values) by ``***``
in every record before any handler sees it, Apprise's own captured result logs included.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise

from core.errors import DataError

TRIES_VAR = "WATTSUP_ALERT_TRIES"
BACKOFF_VAR = "WATTSUP_ALERT_BACKOFF_S"
MASK = "***"
KINDS = {"mailto": "email", "mailtos": "email", "json": "webhook", "jsons": "webhook"}
_FILTERED = ("apprise", "urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry")
MAX_SECRETS = 5_000  # parts remembered; each send registers its URL again, so old ones may go
_secrets: dict[str, None] = {}  # an ordered set: the oldest parts are dropped first
_lock = threading.Lock()


@dataclass(frozen=True)
class Outcome:
    """How one send ended: ``ok``, else ``error`` (the channel's words, no secrets)."""

    ok: bool
    error: str | None = None


class Notifier(Protocol):
    """Sends one message to one channel URL."""

    def send(self, url: str, subject: str, body: str) -> Outcome: ...


@dataclass(frozen=True)
class RetryPolicy:
    """How often to try a channel within one run, and how long to wait between tries."""

    tries: int = 3
    backoff_s: float = 1.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        if not 1 <= self.tries <= 10:
            raise DataError(f"alert tries takes 1-10, got {self.tries}.")
        if not 0 <= self.backoff_s <= 60:
            raise DataError(f"alert backoff takes 0-60 s, got {self.backoff_s}.")

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """``WATTSUP_ALERT_TRIES`` / ``WATTSUP_ALERT_BACKOFF_S``, else the defaults."""
        try:
            tries = int(os.environ.get(TRIES_VAR) or cls.tries)
            backoff = float(os.environ.get(BACKOFF_VAR) or cls.backoff_s)
        except ValueError:
            raise DataError(f"{TRIES_VAR} takes a whole number, {BACKOFF_VAR} seconds.") from None
        return cls(tries=tries, backoff_s=backoff)


# ---- secrets kept out of logs --------------------------------------------------------------------
def secret_parts(url: str) -> set[str]:
    """The parts of ``url`` that may be secret: the URL, user, password, path parts, query values
    (raw and decoded)."""
    parts = {url}
    try:
        split = urlsplit(url)
        candidates = [split.username, split.password, split.path.strip("/"), split.query]
        candidates += split.path.strip("/").split("/")
        candidates += [v for _, v in parse_qsl(split.query, keep_blank_values=False)]
        if split.netloc and "@" in split.netloc:
            candidates.append(split.netloc.rsplit("@", 1)[0])
        host = split.netloc.rsplit("@", 1)[-1]
        if host and "." not in host and not host.lower().startswith(("localhost", "[")):
            candidates += [host, host.split(":", 1)[0]]  # a bot token where a host goes (tgram://)
    except ValueError:
        candidates = []
    for c in candidates:
        if c and len(c) >= 2:
            parts |= {c, unquote(c)}
    return {p for p in parts if p and len(p) >= 2}


def register_secret(url: str) -> None:
    """Remember ``url``'s secret parts so the log filter hides them."""
    with _lock:
        for part in secret_parts(url):
            _secrets.pop(part, None)
            _secrets[part] = None
        while len(_secrets) > MAX_SECRETS:
            del _secrets[next(iter(_secrets))]


def scrub(text: str) -> str:
    """``text`` with every registered secret part replaced by ``***`` (longest first)."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for part in known:
        if part in text:
            text = text.replace(part, MASK)
    return text


class _Scrub(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot format is dropped rather than shown raw
            return False
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = _Scrub()


def install_log_filter() -> None:
    """Put the scrubbing filter on Apprise's and urllib3's loggers (idempotent)."""
    for name in _FILTERED:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


install_log_filter()


# ---- Apprise -------------------------------------------------------------------------------------
def channel_kind(url: str) -> str:
    """``email``, ``webhook`` or the Apprise scheme (``slack``, ``ntfy``, ...)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    return KINDS.get(scheme, scheme or "unknown")


def check_url(url: str) -> str:
    """``url`` when Apprise can send to it; a DataError (URL not repeated: it may hold a secret)."""
    url = (url or "").strip()
    register_secret(url)
    if "://" not in url or not _apprise().add(url):
        raise DataError(
            "that channel URL is not one Apprise can send to: use e.g. "
            "mailto://HOST:PORT?from=ADDR&to=ADDR or json://host/path (see apprise's URL docs)."
        )
    return url


def _apprise() -> apprise.Apprise:
    asset = apprise.AppriseAsset(
        storage_mode=apprise.PersistentStoreMode.MEMORY,  # no files under ~/.local from a worker
        secure_logging=True,
    )
    return apprise.Apprise(asset=asset)


class AppriseNotifier:
    """``Notifier`` through Apprise: one notification per call, the failure in Apprise's words."""

    def send(self, url: str, subject: str, body: str) -> Outcome:
        register_secret(url)
        client = _apprise()
        if not client.add(url):
            return Outcome(False, "the channel URL is not one Apprise can send to")
        try:
            result = client.notify(title=subject, body=body)
        except Exception as err:  # a plugin bug must not stop the other channels
            return Outcome(False, scrub(f"{type(err).__name__}: {err}"))
        try:
            if result:
                return Outcome(True)
            return Outcome(False, _error_of(result))
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()


def _error_of(result) -> str:
    """Apprise's warnings and socket errors for a failed send, one line, scrubbed."""
    lines: list[str] = []
    logs = getattr(result, "logs", None)
    for entry in logs() if callable(logs) else ():
        message = str(getattr(entry, "message", "")).strip()
        level = str(getattr(entry, "level", "")).upper()
        if level in ("WARNING", "ERROR", "CRITICAL") or message.startswith(
            ("Socket Exception", "Response Details")
        ):
            lines.append(message.splitlines()[0] if message else "")
    text = "; ".join(dict.fromkeys(line for line in lines if line)) or "the channel refused it"
    return scrub(text)[:500]


def deliver(
    notifier: Notifier,
    url: str,
    subject: str,
    body: str,
    retry: RetryPolicy,
    *,
    sleep=time.sleep,
) -> tuple[Outcome, int]:
    """Send with retries; (the last outcome, tries made)."""
    outcome = Outcome(False, "not tried")
    pause = retry.backoff_s
    for attempt in range(1, retry.tries + 1):
        outcome = notifier.send(url, subject, body)
        if outcome.ok:
            return outcome, attempt
        if attempt < retry.tries:
            sleep(pause)
            pause *= retry.factor
    return outcome, retry.tries
