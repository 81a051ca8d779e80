"""Real local receivers for alert tests: an aiosmtpd SMTP server and an HTTP webhook receiver, both
on 127.0.0.1 on a free port, started and always stopped by the fixtures in ``conftest``."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mailbox:
    """What the SMTP server received (parsed messages), with a condition to wait on."""

    messages: list[Message] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        with self.cond:
            self.messages.append(message_from_bytes(envelope.content))
            self.cond.notify_all()
        return "250 OK"

    def bodies(self) -> list[str]:
        out = []
        for msg in self.messages:
            for part in msg.walk():
                if part.get_content_type() == "text/plain":
                    out.append(part.get_payload(decode=True).decode("utf-8"))
        return out


class SmtpServer:
    """aiosmtpd on 127.0.0.1:port; ``stop()`` and ``start()`` again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=wattsup@example.com&to=ops@example.com"

    def start(self) -> None:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()  # returns once the server answers

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass
class Hook:
    """Requests the webhook receiver got, and the statuses it answers with (then 200)."""

    requests: list[dict] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class WebhookServer:
    """http.server in a thread on 127.0.0.1:port, recording every POST's path, headers and JSON."""

    def __init__(self) -> None:
        self.hook = Hook()
        hook = self.hook

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with hook.lock:
                    status = hook.statuses.pop(0) if hook.statuses else 200
                    hook.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "json": json.loads(raw or b"null"),
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
