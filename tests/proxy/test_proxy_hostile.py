"""``mockpanel proxy`` and ``mockpanel record`` against what no panel should send, and clients that send
what no client should: never a traceback, and the key in no encoding in anything they show or write
(the terminal, the report, the HAR, ``dialect.json``)."""

from __future__ import annotations

import html
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
from click.testing import CliRunner

from mockpanel import ServerThread
from mockpanel._cli import main
from tests.proxy.test_proxy import proxying

KEY = "slash/key+é-42<x>"  # a key with characters every format escapes


def encodings(key: str) -> set[str]:
    """The key as JSON (PHP's escapes and plain), percent-encoded and as HTML would write it."""
    php = json.dumps(key)[1:-1].replace("/", "\\/")
    return {key, php, json.dumps(key, ensure_ascii=False)[1:-1].replace("/", "\\/"), json.dumps(key)[1:-1],
            quote(key, safe=""), quote_plus(key), quote(key, safe="").lower(), html.escape(key),
            "".join(f"&#{ord(c)};" for c in key), "".join(f"\\u{ord(c):04x}" for c in key)}


def leaks(text: str) -> list[str]:
    return [form for form in encodings(KEY) if form in text]


async def echoing_panel(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A panel that echoes the key it was sent in every encoding, in an answer that is otherwise a balance."""
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    answer = ('{"balance": "1.00", "currency": "USD", "echo": "' + json.dumps(KEY)[1:-1].replace("/", "\\/") + '", '
              '"u": "' + "".join(f"\\u{ord(c):04x}" for c in KEY) + '", "pct": "' + quote(KEY, safe="") + '", '
              '"html": "' + html.escape(KEY).replace('"', "\\u0022") + '", "dec": "' + "".join(f"&#{ord(c)};" for c in KEY) + '"}')
    data = answer.encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json"),
                                                                         (b"content-length", b"%d" % len(data))]})
    await send({"type": "http.response.body", "body": data})


def test_a_key_echoed_in_any_encoding_is_in_nothing_the_proxy_shows_or_writes(tmp_path: Path) -> None:
    report_html, report_json, har = tmp_path / "r.html", tmp_path / "r.json", tmp_path / "t.har"
    with ServerThread(echoing_panel) as upstream, proxying(upstream.url + "/api/v2", "--report", str(report_html),
                                                          "--har", str(har)) as (url, done):
        answer = httpx.post(url, data={"key": KEY, "action": "balance"}, timeout=10)
        assert answer.json()["echo"] == KEY  # the client sees the panel's answer unchanged
        httpx.get(url, params={"key": KEY, "action": "balance"}, headers={"Authorization": f"Bearer {KEY}".encode()}, timeout=10)
    assert done["code"] == 1, done["output"]  # an echo is no balance: deviations, judged and reported without a key
    for text in (done["output"], report_html.read_text(), har.read_text()):
        assert leaks(text) == [], leaks(text)
    assert "key#" in har.read_text()
    with ServerThread(echoing_panel) as upstream, proxying(upstream.url + "/api/v2", "--report", str(report_json)) as (url, _):
        httpx.post(url, data={"key": KEY, "action": "balance"}, timeout=10)
    assert leaks(report_json.read_text()) == []


def test_record_writes_and_shows_no_key_in_any_encoding(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    with ServerThread(echoing_panel) as upstream:
        result = CliRunner().invoke(main, ["record", upstream.url + "/api/v2", "--key", KEY, "--out", str(out)])
    assert result.exit_code == 0 and "Traceback" not in result.output and leaks(result.output) == [], result.output
    recorded = (out / "dialect.json").read_text()  # the panel's echoes are in it, as the key's redacted form
    assert leaks(recorded) == [] and "key#" in recorded


@contextmanager
def raw_upstream(answer: bytes) -> Iterator[str]:
    """A 'panel' that answers every connection with ``answer``, as it is, then closes."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(answer)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/api/v2"
    finally:
        stop.set()
        thread.join(5)
        server.close()


def _raw(url: str, request: bytes) -> bytes:
    port = int(url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


def test_a_target_that_is_not_a_path_and_a_broken_panel_never_give_a_traceback(tmp_path: Path) -> None:
    broken = [b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\ncut short", b"NOT HTTP AT ALL\r\n\r\n",
              b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\x00\x01\x02\x03", b""]
    for answer in broken:
        with raw_upstream(answer) as upstream, proxying(upstream, "--report", str(tmp_path / "r.html")) as (url, done):
            star = _raw(url, b"OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert star.startswith(b"HTTP/1.1 400") and b"is not a path" in star, star
            absolute = _raw(url, b"GET http://elsewhere.test/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert absolute.startswith(b"HTTP/1.1 ") or absolute == b"", absolute  # forwarded as /x, or the panel broke
            try:
                httpx.post(url, data={"key": KEY, "action": "balance"}, timeout=10)
            except httpx.HTTPError:
                pass  # a broken answer, passed on as it came: the client may see it break
        assert done["code"] == 1 and "Traceback" not in done["output"], done["output"]  # judged: deviations
        assert "deviation(s)" in done["output"], done["output"]
        assert leaks(done["output"]) == []
