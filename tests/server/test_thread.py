"""_server/thread.py: a real uvicorn server in a background thread."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest
from starlette.applications import Starlette

from mockpanel import ServerThread, create_app
from tests.helpers.common import KEY


def test_it_serves_on_a_free_loopback_port_and_stops(panel):
    server = ServerThread(create_app(panel))
    assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
    with server:
        r = httpx.post(server.url + "/api/v2", data={"key": KEY, "action": "balance"})
        assert r.json() == {"balance": "100.00000", "currency": "USD"}
        assert "mockpanel-server" in {t.name.rsplit("-", 1)[0] for t in threading.enumerate()}
    # Stopped: the port no longer answers, the thread is gone.
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/api/v2", timeout=2)
    assert not server._thread.is_alive()


def test_two_servers_get_two_ports(panel):
    app = create_app(panel)
    with ServerThread(app) as a, ServerThread(app) as b:
        assert a.port != b.port
        assert httpx.get(a.url + "/api/v2", params={"key": KEY, "action": "balance"}).status_code == 200
        assert httpx.get(b.url + "/api/v2", params={"key": KEY, "action": "balance"}).status_code == 200


def test_a_chosen_port_is_used(panel):
    for attempt in range(3):  # a port free when picked can be another test's by the time it is bound: pick again
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            server = ServerThread(create_app(panel), port=port)
            break
        except OSError:
            if attempt == 2:
                raise
    with server:
        assert server.port == port
        assert httpx.get(f"http://127.0.0.1:{port}/api/v2", params={"key": KEY, "action": "balance"}).status_code == 200


def test_a_taken_port_fails_at_once():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            ServerThread(create_app(), port=taken.getsockname()[1])


def test_ipv6_loopback(panel):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = ServerThread(create_app(panel), host="::1")
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    assert server.url == f"http://[::1]:{server.port}"
    with server:
        assert httpx.get(server.url + "/api/v2", params={"key": KEY, "action": "balance"}).status_code == 200


def test_a_server_that_cannot_start_says_so():
    async def lifespan(app):
        raise RuntimeError("no start")
        yield  # pragma: no cover

    import contextlib

    app = Starlette(lifespan=contextlib.asynccontextmanager(lifespan))
    server = ServerThread(app, lifespan="on", log_level="critical")
    with pytest.raises(RuntimeError, match="failed to start"):
        server.start(timeout=5)
    server.stop()
