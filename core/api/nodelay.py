"""uvicorn's HTTP/1.1 protocol (h11) with Nagle's algorithm off on every connection.

``python -m core serve --workers N`` (N > 1) has uvicorn bind the listening socket itself, with
``proto`` left at 0; accepted sockets inherit it, and asyncio turns ``TCP_NODELAY`` on only for
sockets that say ``IPPROTO_TCP`` (uvicorn issue 3149, open). Nagle then holds the body of each
keep-alive answer after the first until the client's delayed ACK: +40 ms a call on Linux,
measured here as 61 ms against 16 ms for the same ``/v1/detect/last`` call
(``benchmarks.api``). ``core.commands.serve`` names this class by its import string, so the
command wing never imports the API wing.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):  # a socket closed already: nothing to send on
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
