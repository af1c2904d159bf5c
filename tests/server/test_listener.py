"""_server/listener.py: every waiting connection is accepted at once, on either event loop."""

from __future__ import annotations

import asyncio
import errno
import http.client
import importlib.util
import logging
import socket
import threading
import time
from typing import Any, cast

import httpx
import pytest

from mockpanel import ServerThread
from tests.helpers.common import ON_DIRECT
from mockpanel._server import listener
from mockpanel._server import protocol
from mockpanel._server.listener import Listener

LOOPS = ["asyncio"] + (["uvloop"] if importlib.util.find_spec("uvloop") else [])


class BusyApp:
    """Each request holds the event loop for ``hold`` seconds, as a loaded server's turn does;
    ``/hold`` holds it until ``release`` is set, while clients connect and ask.

    ``first[port]``: how many requests the server had answered when that client's first one came.
    """

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.served = 0
        self.first: dict[int, int] = {}
        self.holding = threading.Event()
        self.release = threading.Event()  # ends /hold: set once every client has asked

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/hold":
            self.holding.set()
            self.release.wait(10)
        else:
            self.first.setdefault(scope["client"][1], self.served)
            time.sleep(self.hold)  # blocks the loop on purpose: turns as long as under load
        self.served += 1
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


def _ask(conn: http.client.HTTPConnection, path: str = "/") -> None:
    conn.request("GET", path)
    conn.getresponse().read()


def _keep_asking(conn: http.client.HTTPConnection, app: BusyApp, clients: int, stop: threading.Event,
                 asked: threading.Barrier) -> None:
    conn.request("GET", "/")
    asked.wait(10)  # every client's first request waits in the held server's queue
    conn.getresponse().read()
    for _ in range(400):  # bounded: ends sooner once every client has had an answer
        if stop.is_set():
            return
        _ask(conn)
        if len(app.first) >= clients:
            stop.set()


@ON_DIRECT  # the direct path's listener (uvicorn's public path keeps uvicorn's)
@pytest.mark.parametrize("loop", LOOPS)
def test_a_burst_of_connections_is_accepted_in_one_turn(loop):
    # While the server is held, 24 clients connect and ask; then each asks again as soon as it
    # is answered. Accepting one connection per turn (uvloop's own server), the server answers
    # about 24 * 25 / 2 = 300 requests before the last client's first; accepting all waiting
    # at once, about one per client.
    clients = 24
    app = BusyApp(hold=0.002)
    with ServerThread(app, loop=loop, direct=True) as server:  # type: ignore[arg-type]
        holder = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        held = threading.Thread(target=_ask, args=(holder, "/hold"))
        held.start()
        assert app.holding.wait(10)
        conns = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=10) for _ in range(clients)]
        for conn in conns:
            conn.connect()  # waiting in the kernel's queue: the server is held
        stop, asked = threading.Event(), threading.Barrier(clients + 1)
        threads = [threading.Thread(target=_keep_asking, args=(c, app, clients, stop, asked)) for c in conns]
        for t in [*threads]:
            t.start()
        asked.wait(10)  # not a fixed hold: on a loaded machine 24 threads may take longer to start than it lasts
        app.release.set()
        for t in [held, *threads]:
            t.join(30)
        for conn in [holder, *conns]:
            conn.close()
    assert len(app.first) == clients
    assert max(app.first.values()) <= 2 * clients, sorted(app.first.values())


class _FlakySocket:
    """A listening socket whose first ``accept`` fails as a process out of descriptors does."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.failed = False

    def accept(self) -> tuple[socket.socket, Any]:
        if not self.failed:
            self.failed = True
            raise OSError(errno.EMFILE, "Too many open files")
        return self._sock.accept()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Hello(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        writing = cast(asyncio.Transport, transport)  # uvloop's, on a loop a uvicorn before 0.36 made the default
        writing.write(b"hello")
        writing.close()


def _listening() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


async def _read_hello(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


def test_out_of_descriptors_it_says_so_pauses_and_accepts_again(monkeypatch, caplog):
    monkeypatch.setattr(listener, "RETRY_AFTER", 0.05)
    sock = _listening()
    flaky = _FlakySocket(sock)

    async def scenario() -> bytes:
        serving = Listener(asyncio.get_running_loop(), flaky, _Hello)  # type: ignore[arg-type]
        try:
            return await _read_hello(sock.getsockname()[1])
        finally:
            serving.close()
            await serving.wait_closed()

    with caplog.at_level(logging.ERROR, logger="mockpanel.server"), sock:
        assert asyncio.run(scenario()) == b"hello"
    assert flaky.failed
    assert "could not accept a connection" in caplog.text and "Too many open files" in caplog.text


def test_closed_it_accepts_no_more():
    sock = _listening()

    async def scenario() -> tuple[bytes, bool]:
        serving = Listener(asyncio.get_running_loop(), sock, _Hello)
        first = await _read_hello(sock.getsockname()[1])
        serving.close()
        await serving.wait_closed()
        try:  # the kernel still completes the handshake; nobody answers
            await asyncio.wait_for(_read_hello(sock.getsockname()[1]), 0.3)
        except asyncio.TimeoutError:
            return first, False
        return first, True

    with sock:
        first, answered_after_close = asyncio.run(scenario())
    assert first == b"hello" and not answered_after_close


@ON_DIRECT
@pytest.mark.parametrize("loop", LOOPS)
def test_a_server_that_binds_its_own_port_keeps_uvicorns_listener(loop):
    import uvicorn

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    server = protocol.PanelServer(uvicorn.Config(app, host="127.0.0.1", port=0, loop=loop, log_level="warning",
                                                 lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        assert not any(isinstance(s, Listener) for s in server.servers)
        port = server.servers[0].sockets[0].getsockname()[1]
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "ok"
    finally:
        server.should_exit = True
        thread.join(10)
