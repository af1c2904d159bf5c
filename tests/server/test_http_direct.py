"""The common request answered in the connection (_server/protocol.py, ``_take_directly``): the
same bytes on the wire and the same journal as uvicorn's public path (its own protocol, behind the
guard: every request the app's way), and every request it cannot be sure of handed to the app with
its body (trigger words, faults, Expect, proxies, pipelining)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

import httpx
import pytest
import requests
import uvicorn
from uvicorn.server import ServerState

from mockpanel import ServerThread, VirtualClock, build_panel, create_app
from mockpanel._catalog_cli import resolve_catalog
from mockpanel._server import protocol
from mockpanel._server.hotpath import HotPath
from mockpanel._server.hub import Hub
from mockpanel._server.serving import http_path
from tests.helpers.common import DIRECT, KEY

pytestmark = pytest.mark.skipif(not DIRECT, reason=f"this process serves by {http_path()}")

FORM = b"Content-Type: application/x-www-form-urlencoded"

def _app() -> Any:
    panel = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=1)
    panel.create_account(KEY, balance="100")
    return create_app(panel)


def _post(body: str, *head: bytes, target: bytes = b"/api/v2", version: bytes = b"1.1") -> bytes:
    data = body.encode()
    lines = [b"POST " + target + b" HTTP/" + version, b"Host: 127.0.0.1", FORM, *head,
             b"Content-Length: %d" % len(data)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + data


# One exchange per item: what a client sends on one connection, and how many answers it awaits.
SESSION: list[tuple[bytes, int]] = [
    (_post(f"key={KEY}&action=balance"), 1),
    (_post(f"key={KEY}&action=services"), 1),
    (_post(f"key={KEY}&action=add&service=1&link=https%3A%2F%2Fdirect.test%2Fa&quantity=100"), 1),
    (_post(f"key={KEY}&action=add&service=1&link=https%3A%2F%2Fdirect.test%2Fa&quantity=100"), 1),  # a duplicate
    (_post(f"key={KEY}&action=status&order=10001") * 3, 3),  # pipelined, in one packet
    (_post(f"key={KEY}&action=status&orders=10001,99,abc"), 1),
    (_post(f"key={KEY}&action=cancel&orders=10001", b"Connection: close"), 1),
    (_post(f"key={KEY}&action=balance", version=b"1.0"), 1),
    (_post(f"key={KEY}&action=balance", b"Connection: keep-alive", version=b"1.0"), 1),
    (_post("key=wrong-key-123456&action=balance"), 1),
    (_post(f"key={KEY}&action=nope") + _post(f"key={KEY}&action=balance&key={KEY}"), 2),
    (_post(f"key={KEY}&action=balance", b"X-Api-Key: " + KEY.encode(), b"Accept: */*"), 1),
]


def _answers(sock: socket.socket, count: int) -> list[tuple[bytes, bytes]]:
    """``count`` answers read as a client reads them, in order: each head and its body. An
    interim ``100 Continue`` comes as a head with no body and is not counted."""
    reader = sock.makefile("rb")
    out: list[tuple[bytes, bytes]] = []
    counted = 0
    while counted < count:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = reader.readline()
            if not line:
                raise ConnectionError(f"closed after {counted} of {count} answers: {out[-1:]!r}")
            head += line
        if head.startswith(b"HTTP/1.1 100 "):
            out.append((head, b""))
            continue
        size = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        body = reader.read(size)
        if len(body) < size:
            raise ConnectionError(f"closed mid-answer after {counted} of {count} answers")
        out.append((head, body))
        counted += 1
    return out


def _read_answers(sock: socket.socket, count: int) -> bytes:
    """Exactly ``count`` answers, as the bytes that came."""
    return b"".join(head + body for head, body in _answers(sock, count))


def _exchange(port: int, data: bytes, count: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        return _read_answers(sock, count)


def _journal(url: str) -> list[Any]:
    rows = httpx.get(url + "/_mock/journal", timeout=10).json()
    for row in rows:
        for volatile in ("at", "wall", "latency", "seconds", "time", "started", "at_iso", "wall_iso"):
            row.pop(volatile, None)
    return rows


def _har(url: str) -> list[Any]:
    entries = httpx.get(url + "/_mock/journal.har", timeout=10).json()["log"]["entries"]
    return [(e["request"]["method"], e["request"]["url"].split("/", 3)[3], e["request"]["httpVersion"],
             sorted((h["name"].lower(), h["value"]) for h in e["request"]["headers"]),
             e["request"].get("postData", {}).get("text"), e["response"]["status"], e["response"]["content"]["text"])
            for e in entries]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hot path's ASGI calls, by action: the requests the connection did not answer itself."""
    calls: list[str] = []
    asgi = HotPath.__call__

    async def counting(self: HotPath, scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        await asgi(self, scope, receive, send)

    monkeypatch.setattr(HotPath, "__call__", counting)
    return calls


def test_the_bytes_and_the_journal_are_the_app_s_own(counted: list[str]) -> None:
    with ServerThread(_app()) as direct, ServerThread(_app(), direct=False) as reference:
        for data, count in SESSION:
            assert _exchange(direct.port, data, count) == _exchange(reference.port, data, count)
        assert len(counted) == sum(count for _, count in SESSION)  # only the reference's, every one
        assert _journal(direct.url) == _journal(reference.url)
        assert _har(direct.url) == _har(reference.url)
        text = httpx.get(direct.url + "/_mock/journal.har", timeout=10).text
    assert KEY not in text


def _post_bytes(body: bytes) -> bytes:
    return (b"POST /api/v2 HTTP/1.1\r\nHost: 127.0.0.1\r\n" + FORM + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body)


# Bodies as clients percent-encode them (urlencode writes what PHP's http_build_query, requests and
# httpx send), and escapes a client may get wrong: each read the same way on both ways.
PERCENT_SESSION: list[bytes] = [
    _post(urlencode({"key": KEY, "action": "add", "service": 1, "quantity": 100,
                     "link": "https://www.instagram.com/p/C8x_y-z/?utm_source=ig&igsh=MzRl==&ids=1,2"})),
    _post(urlencode({"key": KEY, "action": "status", "orders": "10001,10002,99"})),
    _post(f"%6B%65y={KEY}&ac%74ion=st%61tus&order=1000%31"),  # escaped names and digits
    _post(f"key={KEY}&action=add&service=1&quantity=100&link=https%3A%2F%2Fdirect.test%2F%3Fq%3Da%2Bb%25c%zz%ff%2"),
    _post(f"key={KEY}&action=add&service=1&quantity=100&link=https%3A%2F%2Fdirect.test%2F%00"),  # refused: a NUL
    _post(f"key={KEY}&action=add&service=1&quantity=100&link=https%3A%2F%2Fdirect.test%2Fa+b%C3%A9%E2%82"),
    _post(f"key={KEY}&action=status&orders=10001%2c10003%2C%2C%41"),
    _post(f"key={KEY}%00&action=balance"),
    _post(f"key=%ff{KEY}&action=balance"),
    _post(f"key={KEY}&action=balance%"),
    _post_bytes(b"key=" + KEY.encode() + b"&action=add&service=1&quantity=100&link=https://direct.test/\xff%C3%A9"),
]


def test_percent_encoded_bodies_are_answered_in_the_connection_as_the_app_reads_them(counted: list[str]) -> None:
    with ServerThread(_app()) as direct, ServerThread(_app(), direct=False) as reference:
        for data in PERCENT_SESSION:
            assert _exchange(direct.port, data, 1) == _exchange(reference.port, data, 1)
        assert len(counted) == len(PERCENT_SESSION)  # only the reference's: none took the app's way on `direct`
        assert _journal(direct.url) == _journal(reference.url)
        assert _har(direct.url) == _har(reference.url)
        orders = httpx.get(direct.url + "/_mock/orders?limit=100", timeout=10).json()["orders"]
        assert orders == httpx.get(reference.url + "/_mock/orders?limit=100", timeout=10).json()["orders"]
        rows = _journal(direct.url)
    # The escapes were read, not passed through: the orders' links, the ids and the escaped names.
    assert [o["link"] for o in orders] == [
        "https://direct.test/\xff\xe9", "https://direct.test/a b\xe9\ufffd", "https://direct.test/?q=a+b%c%zz\ufffd%2",
        "https://www.instagram.com/p/C8x_y-z/?utm_source=ig&igsh=MzRl==&ids=1,2"]  # newest first
    assert [r["action"] for r in rows[:3]] == ["add", "status", "status"]
    assert all("error" not in r["response"] for r in rows[1:3])


def test_the_common_request_never_reaches_the_app_the_asgi_way(counted: list[str]) -> None:
    with ServerThread(_app()) as live:
        api = live.url + "/api/v2"
        with requests.Session() as session:
            for _ in range(3):
                assert session.post(api, data={"key": KEY, "action": "balance"}, timeout=10).json()["balance"]
        with httpx.Client() as client:
            assert client.post(api + "/", data={"key": KEY, "action": "services"}, timeout=10).status_code == 200
        assert counted == []
        assert [e["action"] for e in _journal(live.url)] == ["balance"] * 3 + ["services"]


def test_what_the_hot_path_does_not_take_reaches_the_app_with_its_body(counted: list[str]) -> None:
    with ServerThread(_app()) as live:
        api = live.url + "/api/v2"
        word = requests.post(api, data={"key": KEY, "action": "add", "service": "1", "quantity": "100",
                                        "link": "https://direct.test/p?mockpanel=http-502"}, timeout=10)
        assert word.status_code == 502  # a trigger word: the general way, its body handed over
        httpx.post(live.url + "/_mock/faults", json={"kind": "http", "status": 503, "count": 1}, timeout=10)
        assert requests.post(api, data={"key": KEY, "action": "balance"}, timeout=10).status_code == 503
        assert requests.post(api, data={"key": KEY, "action": "balance"}, timeout=10).status_code == 200
        assert len(counted) == 2  # the trigger word and the fault; the last one was answered directly
        assert [e["action"] for e in _journal(live.url)] == ["add", "balance", "balance"]


@pytest.mark.parametrize("head", [
    b"Expect: 100-continue",  # the app's cycle sends the 100 Continue
    b"X-Forwarded-For: 203.0.113.9",  # uvicorn's proxy middleware rewrites the scope
    b"X-Forwarded-Proto: https",
], ids=["expect", "forwarded-for", "forwarded-proto"])
def test_requests_uvicorn_rewrites_go_the_asgi_way(counted: list[str], head: bytes) -> None:
    with ServerThread(_app()) as live:
        raw = _exchange(live.port, _post(f"key={KEY}&action=balance", head), 1)
        assert raw.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK" if b"Expect" in head
                              else b"HTTP/1.1 200 OK") and b'"balance"' in raw
        assert counted == ["/api/v2"]
        har = httpx.get(live.url + "/_mock/journal.har", timeout=10).json()["log"]["entries"]
    if head.endswith(b"https"):
        assert har[0]["request"]["url"].startswith("https://")  # what the middleware made of it


def test_a_request_behind_one_still_being_answered_waits_its_turn(counted: list[str]) -> None:
    """A GET (the app's way) and then a form POST, pipelined: answered in the order asked."""
    with ServerThread(_app()) as live:
        get = b"GET /api/v2?key=" + KEY.encode() + b"&action=balance HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        posts = [_post(f"key={KEY}&action=status&order={n}") for n in (1, 2)]
        raw = _exchange(live.port, get + posts[0] + get + posts[1], 4)
    bodies = [json.loads(part.split(b"\r\n\r\n", 1)[1]) for part in raw.split(b"HTTP/1.1 ")[1:]]
    assert [("balance" in b, "error" in b) for b in bodies] == [(True, False), (False, True)] * 2


def test_the_hub_s_panels_are_answered_in_the_connection(counted: list[str]) -> None:
    hub = Hub()
    prefix = hub.mount(_app())
    other = hub.mount(_app())
    with ServerThread(hub) as live:
        api = live.url + prefix + "/api/v2"
        assert requests.post(api, data={"key": KEY, "action": "balance"}, timeout=10).json()["balance"]
        assert requests.post(live.url + "/p/99/api/v2", data={"key": KEY}, timeout=10).status_code == 404
        assert counted == []
        entries = httpx.get(live.url + prefix + "/_mock/journal.har", timeout=10).json()["log"]["entries"]
        assert entries[0]["request"]["url"] == api  # the root path the hub gives its panels
        assert httpx.get(live.url + other + "/_mock/journal", timeout=10).json() == []


def test_the_hub_routes_exactly_as_it_would_the_asgi_way() -> None:
    hub = Hub()
    app = _app()
    prefix = hub.mount(app)
    hot = app.api_paths["/api/v2"]
    assert hub.direct_entry((prefix + "/api/v2").encode()) == (hot, prefix)
    assert hub.direct_entry((prefix + "/api/v2/").encode()) == (hot, prefix)
    for url in (prefix + "/api/v2?action=balance", prefix + "/api/v%32", prefix, "/p/", "/api/v2",
                prefix + "/_mock/journal", "/p/9/api/v2"):
        assert hub.direct_entry(url.encode()) is None, url
    hub.unmount(prefix)
    assert hub.direct_entry((prefix + "/api/v2").encode()) is None


def test_a_body_cut_off_leaves_nothing_behind() -> None:
    app = _app()
    with ServerThread(app) as live:
        data = _post(f"key={KEY}&action=add&service=1&link=https%3A%2F%2Fdirect.test%2Fcut&quantity=100")
        with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
            sock.sendall(data[:-5])
        time.sleep(0.2)
        assert _journal(live.url) == []
        assert len(app.state.panel.orders) == 0
        assert _exchange(live.port, _post(f"key={KEY}&action=balance"), 1).startswith(b"HTTP/1.1 200")


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_bug_answers_json_500_is_logged_and_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: HotPath, scope: Any, body: bytes) -> Any:
        raise RuntimeError("a bug in the hot path")

    monkeypatch.setattr(HotPath, "answer", broken)
    kept = _Kept()
    with ServerThread(_app()) as live:
        logging.getLogger("uvicorn.error").addHandler(kept)  # uvicorn's logger does not propagate
        try:
            with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
                sock.sendall(_post(f"key={KEY}&action=balance"))
                raw = _read_answers(sock, 1)
                assert sock.recv(1) == b""  # closed
        finally:
            logging.getLogger("uvicorn.error").removeHandler(kept)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500") and json.loads(body) == {"error": "Internal error"}
    assert [r.exc_info[1].args for r in kept.records if r.exc_info] == [("a bug in the hot path",)]


def shutting_down(live: ServerThread, seconds: float = 10) -> None:
    """Until the server has closed its listening socket, the first step of its shutdown (uvicorn's
    Server.shutdown), taken in the same turn as telling its connections: a fixed sleep was a guess that a
    loaded machine can miss."""
    deadline = time.monotonic() + seconds
    while live._sock.fileno() != -1:
        assert time.monotonic() < deadline, f"the server did not begin to shut down within {seconds} s"
        time.sleep(0.01)


def test_a_request_being_read_at_shutdown_is_answered_then_closed() -> None:
    live = ServerThread(_app()).start()
    data = _post(f"key={KEY}&action=balance")
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(data[:-3])
        time.sleep(0.2)  # its head parsed: the body is being read in the connection
        stopping = threading.Thread(target=live.stop)
        stopping.start()
        shutting_down(live)  # and waiting for this connection
        sock.sendall(data[-3:])
        raw = _read_answers(sock, 1)
        assert sock.recv(1) == b""
        stopping.join(10)
    assert raw.startswith(b"HTTP/1.1 200") and b"connection: close\r\n" in raw


def test_a_big_body_and_a_chunked_one_go_the_asgi_way(counted: list[str]) -> None:
    with ServerThread(_app()) as live:
        api = live.url + "/api/v2"
        note = "x" * (protocol.DIRECT_BODY + 1)
        assert requests.post(api, data={"key": KEY, "action": "balance", "note": note}, timeout=10).json()["balance"]

        def parts() -> Iterator[bytes]:
            yield b"key=" + KEY.encode()
            yield b"&action=balance"

        assert requests.post(api, data=parts(), timeout=10,
                             headers={"Content-Type": "application/x-www-form-urlencoded"}).json()["balance"]
        assert len(counted) == 2


def test_an_app_without_a_direct_entry_is_served_the_asgi_way() -> None:
    async def plain(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    assert protocol.direct_entry(plain) is None
    with ServerThread(plain) as live:
        assert requests.post(live.url + "/api/v2", data={"key": KEY}, timeout=10).text == "ok"


def test_a_body_too_slow_after_an_answer_on_the_same_connection_gets_a_408() -> None:
    app = _app()
    with ServerThread(app, read_timeout=0.5, timeout_keep_alive=1) as live:
        with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
            sock.sendall(b"GET /api/v2?key=" + KEY.encode() + b"&action=balance HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # the app's way
            assert _read_answers(sock, 1).startswith(b"HTTP/1.1 200")
            sock.sendall(_post(f"key={KEY}&action=add&service=1&link=https%3A%2F%2Fslow.test&quantity=100")[:-4])
            raw = _read_answers(sock, 1)
            assert sock.recv(1) == b""
    assert raw.startswith(b"HTTP/1.1 408") and len(app.state.panel.orders) == 0


def _answer_bodies(sock: socket.socket, count: int) -> list[bytes]:
    answers = _answers(sock, count)
    assert all(head.startswith(b"HTTP/1.1 200 OK\r\n") for head, _ in answers)
    return [body for _, body in answers]


def test_a_client_that_does_not_read_holds_at_most_one_answer_past_the_buffer(counted: list[str]) -> None:
    """60 pipelined ``services`` (about 480 KB each) sent before reading any: once the
    connection's write buffer is full, the rest wait their turn the app's way (it waits for the
    buffer to drain), and every answer comes, in order."""
    panel = build_panel(catalog=resolve_catalog("generate:2000"), clock=VirtualClock(speed=0, start=1_700_000_000), seed=1)
    panel.create_account(KEY, balance="100")
    with ServerThread(create_app(panel)) as live:
        asked = 60
        with socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
            sock.sendall(_post(f"key={KEY}&action=services") * asked)
            time.sleep(1)  # not reading: the kernel's buffers and then the transport's fill up
            bodies = _answer_bodies(sock, asked)
    assert len(bodies) == asked and len(set(bodies)) == 1 and len(bodies[0]) > 400_000
    assert 0 < len(counted) < asked  # some answered in the connection, then the app's way once it was full


def test_a_pipelined_flood_is_answered_in_order_and_mostly_the_app_s_way(counted: list[str]) -> None:
    """At most DIRECT_PER_READ requests of one read are answered in the connection: the rest of a
    flood wait their turn, one per turn of the loop, as uvicorn queues pipelined requests."""
    with ServerThread(_app()) as live:
        asked = 100
        data = b"".join(_post(f"key={KEY}&action=status&order={n}") for n in range(1, asked + 1))
        with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
            sock.sendall(data)  # about 11 KB: one read
            bodies = _answer_bodies(sock, asked)
        assert [json.loads(b) for b in bodies] == [{"error": "Incorrect order ID"}] * asked
        assert asked - protocol.DIRECT_PER_READ <= len(counted) < asked
        assert [e["params"]["order"] for e in _journal(live.url)] == [str(n) for n in range(1, asked + 1)]


def test_a_body_trickled_byte_by_byte_is_answered_in_the_connection(counted: list[str]) -> None:
    with ServerThread(_app()) as live:
        data = _post(f"key={KEY}&action=balance")
        head, _, body = data.partition(b"\r\n\r\n")
        with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(head + b"\r\n\r\n")
            for byte in body:
                sock.sendall(bytes([byte]))
                time.sleep(0.002)  # each its own packet
            raw = _read_answers(sock, 1)
    assert raw.startswith(b"HTTP/1.1 200 OK") and json.loads(raw.partition(b"\r\n\r\n")[2])["balance"]
    assert counted == []


ADD = f"key={KEY}&action=add&service=1&link=https%3A%2F%2Fdirect.test%2F{{}}&quantity=100"


@pytest.mark.parametrize("first", [
    _post(ADD.format("a"), b"Connection: keep-alive", version=b"1.0"),  # HTTP/1.0: closed after its answer
    _post(ADD.format("a"), b"Connection: close"),
], ids=["http-1.0", "connection-close"])
def test_requests_behind_an_answer_that_closes_are_dropped_unrun(first: bytes) -> None:
    """What follows a closing answer in the same packet is never run, the ASGI way or not."""
    behind = _post(ADD.format("b")) * 20 + b"POST /_mock/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
    results = []
    for direct in (True, False):
        app = _app()
        with ServerThread(app, direct=direct) as live:
            with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
                sock.sendall(first + behind)
                raw = _read_answers(sock, 1)
                assert sock.recv(1) == b""  # closed after the one answer
            time.sleep(0.2)
            results.append((raw, len(app.state.panel.orders), [e["action"] for e in _journal(live.url)]))
    assert results[0] == results[1]
    assert results[0][1:] == (1, ["add"])


def test_a_request_behind_the_one_answered_at_shutdown_is_not_run() -> None:
    app = _app()
    live = ServerThread(app).start()
    first = _post(ADD.format("a"))
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(first[:-5])
        time.sleep(0.2)
        stopping = threading.Thread(target=live.stop)
        stopping.start()
        shutting_down(live)
        sock.sendall(first[-5:] + _post(ADD.format("b")))
        assert _read_answers(sock, 1).startswith(b"HTTP/1.1 200")
        assert sock.recv(1) == b""
        stopping.join(10)
    assert len(app.state.panel.orders) == 1


# --- answers are written at the end of the loop's turn, in the order asked --------------------------


BAD = b"NOT HTTP AT ALL\r\n\r\n"


def test_answers_then_a_request_it_cannot_parse_go_out_in_the_order_asked() -> None:
    """Answers made in the connection wait for the end of the loop's turn; a refusal written before then
    (a request httptools cannot parse, in the same packet) comes after them, then the connection closes."""
    with ServerThread(_app()) as live:
        with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
            sock.sendall(b"".join(_post(f"key={KEY}&action=status&order={n}") for n in (1, 2, 3)) + BAD)
            answers = _answers(sock, 4)
            assert sock.recv(1) == b""
    assert [head.split(b" ", 2)[1] for head, _ in answers] == [b"200", b"200", b"200", b"400"]
    assert [json.loads(body) for _, body in answers[:3]] == [{"error": "Incorrect order ID"}] * 3


def test_answers_then_a_request_for_the_app_go_out_in_the_order_asked(counted: list[str]) -> None:
    """Two answered in the connection, a GET the app answers, then one more: in the order asked."""
    with ServerThread(_app()) as live:
        get = b"GET /api/v2?key=" + KEY.encode() + b"&action=balance HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        posts = [_post(f"key={KEY}&action=status&order={n}") for n in (1, 2, 3)]
        raw = _exchange(live.port, posts[0] + posts[1] + get + posts[2], 4)
    bodies = [json.loads(part.split(b"\r\n\r\n", 1)[1]) for part in raw.split(b"HTTP/1.1 ")[1:]]
    assert [("balance" in b, "error" in b) for b in bodies] == [(False, True), (False, True), (True, False), (False, True)]
    assert counted == ["/api/v2"] * 2  # the GET, and the POST queued behind it: the first two were not


class _Recorder(protocol.ProbeTransport):
    """The probe's transport, noting what the protocol does with it, in order: each write, and the close."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.events: list[bytes | str] = []

    def write(self, data: Any) -> None:
        self.events.append(bytes(data))
        super().write(data)

    def close(self) -> None:
        if not self.is_closing():  # closing twice is closing once
            self.events.append("close")
        super().close()


def _connection(loop: asyncio.AbstractEventLoop) -> tuple[protocol.PanelProtocol, _Recorder]:
    config = uvicorn.Config(_app(), log_config=None, lifespan="off", access_log=False, server_header=False,
                            date_header=False)
    config.load()
    served = protocol.PanelProtocol(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    transport = _Recorder(loop)
    transport.protocol = served
    served.connection_made(transport)
    return served, transport


def test_the_answers_of_one_turn_of_the_loop_go_out_in_one_write() -> None:
    """Three pipelined requests of one read: one write at the end of the turn (a write per answer wakes the
    client once per answer; on loopback, in the write itself)."""
    loop = asyncio.new_event_loop()
    try:
        served, transport = _connection(loop)
        served.data_received(b"".join(_post(f"key={KEY}&action=status&order={n}") for n in (1, 2, 3)))
        assert transport.events == []  # not yet: the turn is not over
        loop.run_until_complete(asyncio.sleep(0))
        assert len(transport.events) == 1 and transport.events[0].count(b"HTTP/1.1 200 OK") == 3  # type: ignore[union-attr]
        served.connection_lost(None)
    finally:
        loop.close()


def _keep_alive_over(served: protocol.PanelProtocol) -> None:
    served.timeout_keep_alive = 0  # idle since the answer was made: due at once
    served._check_times()  # the connection's timer


def _half_closed(served: protocol.PanelProtocol) -> None:
    if not served.eof_received():  # the client's end of the stream: the transport closes unless told not to
        served.transport.close()


@pytest.mark.parametrize("closing", [protocol.PanelProtocol.shutdown, _keep_alive_over, _half_closed],
                         ids=["shutdown", "keep-alive", "half-close"])
def test_an_answer_made_just_before_the_connection_closes_goes_out_before_the_close(
    closing: Callable[[protocol.PanelProtocol], None],
) -> None:
    loop = asyncio.new_event_loop()
    try:
        served, transport = _connection(loop)
        served.data_received(_post(f"key={KEY}&action=balance"))
        closing(served)  # in the same turn: the answer is not written yet
        loop.run_until_complete(asyncio.sleep(0))
        assert [e if e == "close" else e[:15] for e in transport.events] == [b"HTTP/1.1 200 OK", "close"]
    finally:
        loop.close()
