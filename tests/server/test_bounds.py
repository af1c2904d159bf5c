"""Every buffer bounded: a client pipelining without reading its answers holds a bounded queue on both
HTTP paths; the journal's byte bound counts what a row holds (thousands of tiny headers included); the
HAR is sent as it is made; the order book has a byte bound past which an add is a 507 that changes
nothing. bench/memory.py gives the figures (bench/README.md)."""

from __future__ import annotations

import gc
import socket
import time
import tracemalloc
from pathlib import Path

import httpx
import pytest

from mockpanel import MockPanel, ServerThread, build_panel, create_app
from mockpanel._panel.panel import OrderBookFull
from tests.helpers.common import DIRECT, HTTP, KEY, serving, serving_process

FLOOD = 12 << 20  # bytes of pipelined requests, never read back
GROWTH = 120 << 20  # what the server may grow by meanwhile (it grew by ~20x the flood before)


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def flood(port: int, request: bytes, total: int, seconds: float = 20.0) -> int:
    """Send ``request`` pipelined until ``total`` bytes went or the server stopped reading for a second;
    the bytes sent. Nothing is read back."""
    chunk = request * max(1, (256 << 10) // len(request))
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 << 10)
    sock.setblocking(False)
    sent, view, stalled = 0, memoryview(chunk), None
    deadline = time.monotonic() + seconds
    try:
        while sent < total and time.monotonic() < deadline:
            try:
                n = sock.send(view)
            except BlockingIOError:
                stalled = stalled or time.monotonic()
                if time.monotonic() - stalled > 1.0:
                    break
                time.sleep(0.01)
                continue
            stalled = None
            sent += n
            view = view[n:] if n < len(view) else memoryview(chunk)
        time.sleep(0.5)  # what was read is being handled
        return sent
    finally:
        sock.setblocking(True)
        sock.close()


@pytest.mark.parametrize("path", ["direct", "public"])
def test_a_client_pipelining_without_reading_holds_a_bounded_queue(path):
    if path == "direct" and not DIRECT:
        pytest.skip("this process's uvicorn does not serve the direct path")
    env = {"MOCKPANEL_HTTP": "public"} if path == "public" else {}
    with serving_process(env=env) as (origin, proc):
        port = int(origin.rsplit(":", 1)[1])
        body = b"key=test-key&action=services"
        request = (b"POST /api/v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        before = rss(proc.pid)
        flood(port, request, FLOOD)
        grown = rss(proc.pid) - before
        assert grown < GROWTH, f"the server grew by {grown >> 20} MiB for a flood of {FLOOD >> 20} MiB"
        assert HTTP.post(origin + "/api/v2", data={"key": "test-key", "action": "balance"}).status_code == 200


def test_the_journal_bound_counts_the_headers_a_row_holds(panel):
    app = create_app(panel)
    journal = app.state.control.journal
    journal.set_limits(max_bytes=4 << 20)
    with ServerThread(app) as server:
        gc.collect()
        tracemalloc.start()
        try:
            _many_headers(server.port, 100)
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    assert journal.nbytes <= 4 << 20
    assert len(journal) < 20, f"{len(journal)} rows of 2,000 headers each kept within 4 MiB"
    assert grown < 10 << 20, f"{grown >> 20} MiB kept for a journal bound of 4 MiB"  # nothing else holds the heads


def _many_headers(port: int, count: int) -> None:
    for n in range(count):  # 2,000 tiny headers a request: 12 KB on the wire, ~270 KB in memory
        head = b"".join(b"h%d: %d\r\n" % (i, n) for i in range(2000))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /api/v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                         + head + b"Content-Length: 25\r\nConnection: close\r\n\r\nkey=" + KEY.encode() + b"&action=balance")
            while sock.recv(65536):
                pass


def test_the_har_is_sent_as_it_is_made(live: ServerThread):
    for _ in range(3):
        HTTP.post(live.url + "/api/v2", data={"key": KEY, "action": "balance"})
    answer = HTTP.get(live.url + "/_mock/journal.har")
    assert answer.headers.get("transfer-encoding") == "chunked" and "content-length" not in answer.headers
    assert len(answer.json()["log"]["entries"]) == 3


def _big_add(mock_url: str, n: int) -> httpx.Response:
    comments = "\n".join(f"comment {n}-{i} " + "x" * 80 for i in range(100))
    return HTTP.post(mock_url, data={"key": KEY, "action": "add", "service": "2", "link": f"https://x.test/{n}",
                                     "comments": comments})


def test_past_the_order_book_bound_an_add_is_a_507_that_changes_nothing(hub):
    mock = MockPanel(hub, key=KEY, seed=1, balance="100000")
    try:
        mock.panel.max_book_bytes = 200_000
        answers = [_big_add(mock.url, n) for n in range(40)]
        placed = [a for a in answers if a.status_code == 200]
        refused = [a for a in answers if a.status_code != 200]
        assert placed and refused and all(a.status_code == 507 for a in refused)
        assert "order book" in refused[0].json()["error"] and "--book-bytes" in refused[0].json()["error"]
        orders, balance = len(mock.panel.orders), mock.balance()
        assert _big_add(mock.url, 99).status_code == 507
        assert len(mock.panel.orders) == orders and mock.balance() == balance  # nothing changed
        assert mock.panel.book_bytes <= 200_000
        with pytest.raises(OrderBookFull):
            mock.panel.add(KEY, "2", {"link": "https://x.test/py", "comments": "\n".join("c" * 90 for _ in range(100))})
        HTTP.post(mock.control_url + "/reset")
        assert _big_add(mock.url, 100).status_code == 200  # a reset empties the book
    finally:
        mock.close()


def test_serve_takes_the_order_book_bound():
    with serving("--book-bytes", str(1 << 20)) as origin:
        codes = []
        for n in range(200):
            comments = "\n".join("y" * 90 for _ in range(100))
            answer = HTTP.post(origin + "/api/v2", data={"key": "test-key", "action": "add", "service": "2",
                                                          "link": f"https://x.test/{n}", "comments": comments})
            codes.append(answer.status_code)
            if answer.status_code == 507:
                break
        assert codes[-1] == 507 and codes.count(200) >= 20, codes


def test_the_book_is_counted_again_after_a_restore():
    panel = build_panel(seed=1)
    panel.create_account(KEY, balance="1000")
    for n in range(5):
        panel.add(KEY, "2", {"link": f"https://x.test/{n}", "comments": "\n".join("abcdefghijkl")})
    counted = panel.book_bytes
    app = create_app(panel)
    state = app.state.control.export_state()
    other = build_panel(seed=1)
    other.restore_snapshot(state)
    assert other.book_bytes == counted > 0
