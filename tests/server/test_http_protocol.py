"""The HTTP layer on a real server, byte for byte on raw sockets, on both paths (the direct one,
_server/protocol.py, and uvicorn's public one behind the guard, _server/guard.py): upgrade offers
ignored with the body read, bounded request heads, a read deadline, and JSON for everything the
server answers by itself."""

from __future__ import annotations

import json
import socket
import time
from typing import Any, Iterator

import pytest

from mockpanel import Panel, ServerThread, build_panel, create_app
from mockpanel._server.own_answers import HEADER_LIMIT
from tests.helpers.common import PATHS

KEY = "proto-key"
READ_TIMEOUT = 0.8
H2C = [(b"Connection", b"Upgrade, HTTP2-Settings"), (b"Upgrade", b"h2c"), (b"HTTP2-Settings", b"AAMAAABkAARAAAAAAAIAAAAA")]
FORM = (b"Content-Type", b"application/x-www-form-urlencoded")


@pytest.fixture(scope="module", params=PATHS)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Panel, ServerThread]]:
    panel = build_panel(seed=3, speed=0)
    panel.create_account(KEY, balance="100")
    with ServerThread(create_app(panel), direct=request.param, read_timeout=READ_TIMEOUT, timeout_keep_alive=1) as server:
        yield panel, server


def request(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> bytes:
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1"] + [n + b": " + v for n, v in headers]
    if body or method == b"POST":
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


_LEFT: dict[int, bytes] = {}  # bytes read past an answer, per socket: pipelined answers arrive together


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], Any]:
    """One answer (with Content-Length) from ``sock``; raises on a closed connection."""
    raw = _LEFT.pop(sock.fileno(), b"")
    while b"\r\n\r\n" not in raw:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before an answer: {raw!r}")
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    size = int(headers["content-length"])
    while len(body) < size:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-answer")
        body += chunk
    body, _LEFT[sock.fileno()] = body[:size], body[size:]
    return int(lines[0].split()[1]), headers, json.loads(body)


def connect(server: ServerThread) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    _LEFT.pop(sock.fileno(), None)  # a closed socket's number, reused
    return sock


def closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


# --- upgrade offers --------------------------------------------------------------------------------


def test_an_h2c_offer_with_a_form_body_is_answered_as_http11_and_the_connection_stays_open(served):
    panel, server = served
    balance = request(b"POST", b"/api/v2", H2C + [FORM], b"key=" + KEY.encode() + b"&action=balance")
    with connect(server) as sock:
        for _ in range(3):  # keep-alive: the ignored offer does not end HTTP/1.1 on this connection
            sock.sendall(balance)
            status, headers, payload = read_answer(sock)
            assert status == 200 and payload == {"balance": f"{panel.balance(KEY)[0]:.5f}", "currency": "USD"}
            assert "upgrade" not in headers


def test_an_h2c_add_is_placed_once_with_every_field_of_its_body(served):
    panel, server = served
    before = len(panel.orders)
    with connect(server) as sock:
        for n, at in enumerate((7, -2, 5)):  # the offer and body split across packets
            link = f"https://h2c.test/{n}"
            body = json.dumps({"key": KEY, "action": "add", "service": 1, "link": link, "quantity": 150}).encode()
            raw = request(b"POST", b"/api/v2", H2C + [(b"Content-Type", b"application/json")], body)
            cut = {7: 7, -2: len(raw) - len(body) - 2, 5: len(raw) - 5}[at]
            sock.sendall(raw[:cut])
            time.sleep(0.02)
            sock.sendall(raw[cut:])
            status, _, payload = read_answer(sock)
            assert status == 200 and isinstance(payload["order"], int), payload
            order = panel.find_order(payload["order"])
            assert (order.link, order.quantity) == (link, 150)
    assert len(panel.orders) == before + 3


def test_pipelined_upgrade_offers_each_get_their_own_answer(served):
    panel, server = served
    one = request(b"POST", b"/api/v2", H2C + [FORM], b"key=" + KEY.encode() + b"&action=balance")
    two = request(b"POST", b"/api/v2", H2C + [FORM], b"key=nope&action=balance")
    three = request(b"GET", b"/api/v2?key=" + KEY.encode() + b"&action=services", H2C)
    with connect(server) as sock:
        sock.sendall(one + two + three)
        assert read_answer(sock)[2] == {"balance": f"{panel.balance(KEY)[0]:.5f}", "currency": "USD"}
        assert read_answer(sock)[2] == {"error": "Invalid API key"}
        assert isinstance(read_answer(sock)[2], list)


def test_a_websocket_offer_on_the_api_is_answered_as_an_api_request(served):
    panel, server = served
    offer = [(b"Connection", b"keep-alive, Upgrade"), (b"Upgrade", b"websocket"), (b"Sec-WebSocket-Version", b"13"),
             (b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="), FORM]
    with connect(server) as sock:
        sock.sendall(request(b"POST", b"/api/v2", offer, b"key=" + KEY.encode() + b"&action=balance"))
        status, _, payload = read_answer(sock)
    assert status == 200 and payload["currency"] == "USD"


# --- what the HTTP layer answers by itself ---------------------------------------------------------


@pytest.mark.parametrize("raw, status, words", [
    (b"GARBAGE\r\n\r\n", 400, "Invalid HTTP request"),
    (b"GET /api/v2 HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n", 400, "Invalid HTTP request"),
    (b"GET /api/v2 HTTP/1.1\r\nHost x\r\n\r\n", 400, "Invalid HTTP request"),
    (b"POST /api/v2 HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400, "Invalid HTTP request"),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "HTTP/2 with prior knowledge"),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, "use http://, not https://"),
    (b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n", 405, "CONNECT is not supported"),
    (b"GET /api/v2 HTTP/1.1\r\nX-Big: " + b"a" * HEADER_LIMIT + b"\r\n\r\n", 431, f"limit {HEADER_LIMIT} bytes"),
    (b"GET /api/v2 HTTP/1.1\r\n" + b"X-Many: abcdefghijklmnopqrstuvwxyz\r\n" * 2000 + b"\r\n", 431, "too large"),
    (b"GET /api/v2?" + b"q" * HEADER_LIMIT + b" HTTP/1.1\r\n\r\n", 431, "too large"),
])
def test_the_server_s_own_refusals_are_json_and_close_the_connection(served, raw, status, words):
    panel, server = served
    before = len(panel.orders)
    with connect(server) as sock:
        sock.sendall(raw)
        got, headers, payload = read_answer(sock)
        assert (got, headers["content-type"], headers["connection"]) == (status, "application/json", "close")
        assert words in payload["error"]
        assert closed(sock)
    assert len(panel.orders) == before


def test_a_head_trickled_past_the_limit_is_refused_before_it_ends(served):
    panel, server = served
    with connect(server) as sock:
        sock.sendall(b"GET /api/v2 HTTP/1.1\r\nX-Long: ")
        sent = 0
        with pytest.raises((ConnectionError, BrokenPipeError)):
            while sent < 4 * HEADER_LIMIT:  # one header value that never ends
                sock.sendall(b"b" * 4096)
                sent += 4096
                time.sleep(0.001)
            read_answer(sock)  # unreachable when the server refused in time
            raise AssertionError("a head of four times the limit was accepted")
        assert sent <= HEADER_LIMIT + 256 * 1024  # refused within one read of the limit


# --- slow and silent clients ---------------------------------------------------------------------------


def test_a_head_sent_too_slowly_gets_a_408(served):
    panel, server = served
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /api/v2 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        status, _, payload = None, None, None
        for _ in range(20):  # slowloris: a header line now and then keeps nothing alive
            time.sleep(0.1)
            try:
                sock.sendall(b"X-Trickle: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
        status, _, payload = read_answer(sock)
        assert status == 408 and "within" in payload["error"]
        assert closed(sock)
        assert time.monotonic() - started < READ_TIMEOUT + 5


def test_a_body_sent_too_slowly_gets_a_408_and_changes_nothing(served):
    panel, server = served
    before = len(panel.orders)
    body = b"key=" + KEY.encode() + b"&action=add&service=1&link=https://slow.test/b&quantity=100"
    with connect(server) as sock:
        sock.sendall(request(b"POST", b"/api/v2", [FORM], body)[:-10])  # the last 10 bytes never come
        status, _, payload = read_answer(sock)
        assert status == 408
        assert closed(sock)
    assert len(panel.orders) == before


def test_a_silent_connection_is_closed_after_the_keep_alive_timeout(served):
    panel, server = served
    with connect(server) as sock:
        sock.settimeout(5)
        started = time.monotonic()
        assert closed(sock)
        assert time.monotonic() - started < 4


def test_an_idle_keep_alive_connection_is_closed_and_the_next_one_served(served):
    panel, server = served
    balance = request(b"GET", b"/api/v2?key=" + KEY.encode() + b"&action=balance", [])
    with connect(server) as sock:
        sock.sendall(balance)
        assert read_answer(sock)[0] == 200
        assert closed(sock)  # after timeout_keep_alive (1 s here)
    with connect(server) as sock:
        sock.sendall(balance)
        assert read_answer(sock)[0] == 200


def test_the_pytest_hub_serves_an_h2c_offer_with_its_body(mock):
    """The plugin's hub server runs the same protocol (_server/thread.py)."""
    port = int(mock.url.split(":")[2].split("/")[0])
    path = mock.url.split(str(port), 1)[1].encode()
    raw = request(b"POST", path, H2C + [FORM], b"key=" + mock.key.encode() + b"&action=balance")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        _LEFT.pop(sock.fileno(), None)
        sock.sendall(raw)
        status, _, payload = read_answer(sock)
    assert status == 200 and payload == {"balance": "100.00000", "currency": "USD"}


def test_a_pipelined_head_too_large_in_the_same_packet_gets_a_431(served):
    # The second request's head begins inside bytes already counted for the first one.
    panel, server = served
    first = request(b"POST", b"/api/v2", [FORM], b"key=" + KEY.encode() + b"&action=balance")
    second = b"GET /api/v2 HTTP/1.1\r\nX-Big: " + b"a" * (HEADER_LIMIT + 10) + b"\r\n\r\n"
    with connect(server) as sock:
        sock.sendall(first + second)
        status, _, payload = read_answer(sock)
        if status == 200:  # the direct path answers the first as its last byte is parsed, before the second's head
            status, _, payload = read_answer(sock)
        assert status == 431 and f"limit {HEADER_LIMIT} bytes" in payload["error"]
        assert closed(sock)


def test_the_read_deadline_counts_from_each_request_on_a_kept_alive_connection(served):
    # One timer per connection: a request begun late in the first one's period still gets its own
    # full read time, and one sent whole is never cut.
    panel, server = served
    body = b"key=" + KEY.encode() + b"&action=balance"
    with connect(server) as sock:
        sock.sendall(request(b"POST", b"/api/v2", [FORM], body))
        assert read_answer(sock)[0] == 200
        time.sleep(READ_TIMEOUT * 0.6)
        begun = time.monotonic()
        sock.sendall(request(b"POST", b"/api/v2", [FORM], body)[:-5])  # never finished
        time.sleep(READ_TIMEOUT * 0.6)  # past the first request's deadline, within this one's
        sock.sendall(b"")
        status, _, payload = read_answer(sock)
        assert status == 408 and time.monotonic() - begun >= READ_TIMEOUT * 0.95
    with connect(server) as sock:
        for _ in range(4):  # whole requests, spread over more than one read period
            sock.sendall(request(b"POST", b"/api/v2", [FORM], body))
            assert read_answer(sock)[0] == 200
            time.sleep(READ_TIMEOUT * 0.4)


def test_an_idle_connection_is_closed_a_keep_alive_time_after_its_last_answer(served):
    # The connection's one timer: not sooner than timeout_keep_alive (1 s here) after the answer,
    # and not much later, whenever the timer last looked.
    panel, server = served
    body = b"key=" + KEY.encode() + b"&action=balance"
    with connect(server) as sock:
        for _ in range(3):  # requests spread over most of a keep-alive time
            sock.sendall(request(b"POST", b"/api/v2", [FORM], body))
            assert read_answer(sock)[0] == 200
            time.sleep(0.3)
        asked = time.monotonic()  # before the answer: a bound from below however late this thread reads it
        sock.sendall(request(b"POST", b"/api/v2", [FORM], body))
        assert read_answer(sock)[0] == 200
        answered = time.monotonic()  # after it: a bound from above
        sock.settimeout(5)
        assert closed(sock)
        gone = time.monotonic()
        assert gone - asked >= 0.9 and gone - answered < 2.5, (gone - asked, gone - answered)


@pytest.mark.parametrize("direct", PATHS)
def test_an_answer_slower_than_the_keep_alive_time_keeps_the_connection(direct):
    # While the app is answering the connection is not idle: a 1.5 s latency fault (keep-alive 1 s)
    # is answered, and the connection then serves the next request.
    panel = build_panel(seed=3, speed=0)
    panel.create_account(KEY, balance="100")
    app = create_app(panel)
    app.state.control.add_fault({"kind": "latency", "seconds": 1.5, "count": 1})
    body = b"key=" + KEY.encode() + b"&action=balance"
    with ServerThread(app, direct=direct, read_timeout=READ_TIMEOUT, timeout_keep_alive=1) as server:
        with connect(server) as sock:
            started = time.monotonic()
            sock.sendall(request(b"POST", b"/api/v2", [FORM], body))
            assert read_answer(sock)[0] == 200
            assert time.monotonic() - started >= 1.4
            sock.sendall(request(b"POST", b"/api/v2", [FORM], body))
            assert read_answer(sock)[0] == 200
