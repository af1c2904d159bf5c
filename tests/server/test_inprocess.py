"""_server/inprocess.py: the mock over httpx without a socket."""

from __future__ import annotations

import asyncio
import threading

import httpx

from mockpanel import create_app
from mockpanel._server.inprocess import SyncASGITransport, inprocess_client
from tests.helpers.common import KEY


def test_a_plain_client_reaches_the_app(panel):
    with inprocess_client(create_app(panel)) as c:
        assert str(c.base_url) == "http://mockpanel.local"
        r = c.post("/api/v2", data={"key": KEY, "action": "add", "service": "1", "link": "https://i.test", "quantity": "100"})
        order = r.json()["order"]
    assert panel.find_order(order).link == "https://i.test"


def test_headers_query_and_body_pass_through(panel):
    seen = []
    app = create_app(panel)
    app.state.api.observers.append(lambda scope, fields, *rest: seen.append((scope, fields)))
    with inprocess_client(app, headers={"User-Agent": "probe/1"}) as c:
        c.post("/api/v2/?action=services", json={"key": KEY, "action": "balance"})
    [(scope, fields)] = seen
    assert dict(scope["headers"])[b"user-agent"] == b"probe/1"
    assert scope["query_string"] == b"action=services"
    assert fields == {"key": KEY, "action": "balance"}
    assert scope["client"] == ("127.0.0.1", 50000)


def test_it_works_inside_a_running_event_loop(panel):
    """Sync code called from async code (a common test setup) must not deadlock."""
    app = create_app(panel)

    async def main() -> dict:
        with inprocess_client(app) as c:
            return c.get("/api/v2", params={"key": KEY, "action": "balance"}).json()

    assert asyncio.run(main()) == {"balance": "100.00000", "currency": "USD"}


def test_many_threads_share_one_client(panel):
    app = create_app(panel)
    results = []
    with inprocess_client(app) as c:
        def worker() -> None:
            for _ in range(10):
                results.append(c.get("/api/v2", params={"key": KEY, "action": "balance"}).status_code)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert results == [200] * 40


def test_close_stops_the_loop_thread_and_can_be_called_twice(panel):
    transport = SyncASGITransport(create_app(panel))
    with httpx.Client(transport=transport, base_url="http://x") as c:
        assert c.get("/api/v2", params={"key": KEY, "action": "balance"}).status_code == 200
    assert not transport._thread.is_alive()
    assert transport._loop.is_closed()
    transport.close()  # idempotent


def test_a_404_and_a_413_come_through_as_they_are(panel):
    with inprocess_client(create_app(panel, max_body=10)) as c:
        assert c.get("/nope").status_code == 404
        assert c.post("/api/v2", content=b"x" * 11).status_code == 413
