"""The listening side of every mockpanel server: all waiting connections accepted at once.

uvloop's server accepts one connection per turn of the event loop. A busy turn takes as long
as answering every request then in hand (several milliseconds with 64 clients), so a burst of
64 new connections was accepted over 240-300 ms, and their first requests waited that long
(docs/http.md). ``Listener`` accepts every waiting connection, up to ``ACCEPT_BATCH``, each
time the listening socket is readable, as asyncio's own server does, and hands each to the
loop's ``connect_accepted_socket`` with the server's protocol.

``protocol.PanelServer`` (the direct path) puts these listeners on the sockets it is given; TLS,
a server asked to bind its own host and port, and uvicorn's public path keep uvicorn's listeners.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("mockpanel.server")

ACCEPT_BATCH = 256  # connections taken per readiness, so a flood of them cannot hold the loop
RETRY_AFTER = 1.0  # seconds before accepting again after the process ran out of descriptors


class Listener:
    """Accepts the connections waiting on the listening ``sock``, and serves each with
    ``factory()``'s protocol.

    The ``asyncio.Server`` part that uvicorn uses: ``close`` and ``wait_closed``.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket, factory: Callable[[], asyncio.Protocol],
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._factory = factory
        self._starting: set[asyncio.Task[Any]] = set()  # connections being handed over (kept alive)
        self._serving = True
        sock.setblocking(False)
        loop.add_reader(sock.fileno(), self._accept)

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _addr = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return  # none left
            except ConnectionAbortedError:
                continue  # the client gave up before it was accepted
            except OSError as exc:  # out of descriptors or buffers: stop for a while, as asyncio does
                logger.error("could not accept a connection (%s); accepting again in %g s", exc, RETRY_AFTER)
                self._loop.remove_reader(self._sock.fileno())
                self._loop.call_later(RETRY_AFTER, self._resume)
                return
            conn.setblocking(False)
            if conn.family in (socket.AF_INET, socket.AF_INET6):  # answers go out at once, not after an ACK
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = self._loop.create_task(self._serve(conn))
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)

    async def _serve(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn)
        except OSError:  # the client left while its transport was being made
            conn.close()

    def _resume(self) -> None:
        if self._serving:
            self._loop.add_reader(self._sock.fileno(), self._accept)

    def close(self) -> None:
        """Stop accepting; uvicorn closes the socket itself."""
        if self._serving:
            self._serving = False
            self._loop.remove_reader(self._sock.fileno())

    async def wait_closed(self) -> None:
        if self._starting:
            await asyncio.wait(self._starting)
