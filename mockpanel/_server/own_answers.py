"""What the HTTP layer answers by itself, and the limits it keeps, on either path (docs/http.md).

Both ways of serving a connection (``protocol.PanelProtocol``, the direct path; ``guard.GuardedProtocol``,
uvicorn's public path) refuse the same requests with the same JSON, and ignore an upgrade offer the
same way: its request head is parsed again without the offer.
"""

from __future__ import annotations

import http

import orjson

HEADER_LIMIT = 32 * 1024  # request line + headers; nginx's default buffers are 4 x 8 KiB
READ_TIMEOUT = 15.0  # seconds from a request's first byte to its last
KEEP_ALIVE = 5  # seconds an idle connection stays open (uvicorn's default)
# Requests one connection may have waiting behind the one being answered (HTTP/1.1 pipelining): past it,
# reading stops until answers drain, so a client that floods without reading holds the queue, one
# read's bytes (at most 256 KiB) and its unread answers in the server's memory, no more.
PIPELINE_LIMIT = 64
OFFER = b"upgrade"  # the Connection token that makes an Upgrade header an offer

CONNECT_REFUSED = (405, "CONNECT is not supported: this is an API server, not a proxy")


def status_line(status: int) -> bytes:
    """``HTTP/1.1 <status> <reason>\\r\\n``, as uvicorn writes it."""
    try:
        phrase = http.HTTPStatus(status).phrase.encode()
    except ValueError:
        phrase = b""
    return b"HTTP/1.1 %d %s\r\n" % (status, phrase)


STATUS_LINES = {status: status_line(status) for status in range(100, 600)}


def refusal(status: int, message: str, default_headers: list[tuple[bytes, bytes]] | None = None) -> bytes:
    """A JSON ``{"error": message}`` answer that closes the connection: its state is unknown past a bad request."""
    body = orjson.dumps({"error": message})
    content = [STATUS_LINES[status]]
    for name, value in default_headers or ():
        content += [name, b": ", value, b"\r\n"]
    content += [
        b"content-type: application/json\r\ncontent-length: ", b"%d" % len(body), b"\r\nconnection: close\r\n\r\n", body,
    ]
    return b"".join(content)


def too_large(limit: int) -> str:
    return f"Request line and headers too large (limit {limit} bytes)"


def too_slow(seconds: float) -> str:
    return f"Request not received within {seconds:g} s; send it whole, promptly"


def unparsable(exc: Exception, data: bytes) -> str:
    """Why httptools refused ``data``, said for what was most likely sent."""
    if data[:2] == b"\x16\x03":
        return "Invalid HTTP request: a TLS handshake; this server speaks plain HTTP: use http://, not https://"
    if data[:3] == b"PRI":
        return "Invalid HTTP request: HTTP/2 with prior knowledge; this server speaks HTTP/1.1"
    text = str(exc).strip().rstrip(".")
    return f"Invalid HTTP request: {text[:200] if text else 'malformed request'}"


def head_without_offer(method: bytes, url: bytes, version: str, headers: list[tuple[bytes, bytes]]) -> bytes:
    """The request head as sent, less the ``upgrade`` token of its Connection header: no longer an
    offer, so the body that follows is read (httptools skips the body of any request that offers an
    upgrade). The Upgrade header stays, inert: the app sees what was sent."""
    lines = [method, b" ", url, b" HTTP/", version.encode(), b"\r\n"]
    for name, value in headers:
        if name.lower() == b"connection":
            tokens = [t.strip() for t in value.split(b",") if t.strip() and t.strip().lower() != OFFER]
            if not tokens:
                continue
            value = b", ".join(tokens)
        lines += [name, b": ", value, b"\r\n"]
    lines.append(b"\r\n")
    return b"".join(lines)
