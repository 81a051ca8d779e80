"""``python -m core serve`` turns Nagle off on every connection, whatever socket uvicorn bound.

With ``--workers N`` uvicorn binds the listening socket with ``proto`` 0, so asyncio leaves Nagle
on for accepted connections (uvicorn issue 3149) and each keep-alive answer after the first waits
~40 ms for the client's delayed ACK. The socket here is bound and accepted that way.
"""

from __future__ import annotations

import asyncio
import importlib
import socket
import threading

import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from core.commands.serve import HTTP


async def _app(scope, receive, send) -> None:  # never called: no request is sent
    raise AssertionError("unexpected request")


def _nodelay_after_accept(protocol_class) -> int:
    """TCP_NODELAY of a connection accepted on a proto-0 listener and handed to
    ``protocol_class`` by asyncio, as uvicorn's multi-worker server hands it."""
    listener = socket.socket(family=socket.AF_INET)  # as uvicorn's Config.bind_socket
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    conn, _ = listener.accept()
    config = uvicorn.Config(app=_app, http=HTTP, log_level="warning")
    config.load()
    state = ServerState()

    async def accept() -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.connect_accepted_socket(
            lambda: protocol_class(config=config, server_state=state, app_state={}), sock=conn
        )
        try:
            return transport.get_extra_info("socket").getsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY
            )
        finally:
            transport.close()
            await asyncio.sleep(0)

    # a thread of its own: an earlier test in this process may have left a loop running here
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(accept())))
    try:
        thread.start()
        thread.join(timeout=30)
        assert result, "the accepted connection never reached the protocol"
        return result[0]
    finally:
        client.close()
        listener.close()


def test_serve_uses_the_protocol_that_turns_nagle_off() -> None:
    module, name = HTTP.split(":")
    protocol = getattr(importlib.import_module(module), name)
    assert issubclass(protocol, H11Protocol)
    assert _nodelay_after_accept(protocol) != 0


@pytest.mark.skipif(not hasattr(socket, "TCP_NODELAY"), reason="no TCP_NODELAY here")
def test_uvicorns_own_protocol_leaves_nagle_on_for_such_a_socket() -> None:
    """The case the protocol is for: so the test above can fail."""
    assert _nodelay_after_accept(H11Protocol) == 0
