"""What a transport fault sends the client: nginx's error pages, Cloudflare's challenge, a PHP
notice before the JSON, JSON cut short, nothing, or a dropped connection."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
from starlette.types import Receive, Scope, Send

from . import connections
from .api import json_bytes

if TYPE_CHECKING:  # pragma: no cover
    from .faults import Fault


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised to an in-process client where a socket client would see the connection close."""

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a response. (mockpanel 'drop' fault)")


_REASONS = {
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Temporarily Unavailable", 504: "Gateway Time-out",
}

CLOUDFLARE_PAGE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta name="robots" content="noindex,nofollow">
</head><body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">Checking if the site connection is secure</h1>
<noscript><div class="h2">Enable JavaScript and cookies to continue</div></noscript>
</div></div><script>(function(){window._cf_chl_opt={cvId: '3',cType: 'managed'};})();</script></body></html>
"""

PHP_NOTICE = (
    b"<br />\n<b>Warning</b>:  Undefined array key \"currency\" in <b>/var/www/html/api/v2/index.php</b>"
    b" on line <b>87</b><br />\n"
)
PHP_FATAL = (
    b"<br />\n<b>Fatal error</b>:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes)"
    b" in <b>/var/www/html/api/v2/index.php</b> on line <b>212</b><br />\n"
)


def _status_page(status: int) -> bytes:
    reason = _REASONS.get(status, "Error")
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


async def _send(send: Send, status: int, body: bytes, content_type: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", content_type.encode("latin-1")), (b"content-length", str(len(body)).encode())]
    headers += extra or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def drop(scope: Scope) -> None:
    """Close the connection the request came on, with no answer (server/connections.py finds it)."""
    transport = connections.of(scope)
    if transport is None:
        raise ConnectionDropped()  # in-process: what a client over a socket would see
    transport.close()
    for _ in range(100):  # let the server see the connection gone, so it does not answer for us
        if connections.of(scope) is not transport:
            break
        await asyncio.sleep(0)


async def answer(fault: Fault, scope: Scope, send: Send, produced: tuple[int, list[Any], bytes] | None) -> None:
    """Send what the fault makes of the panel's answer (``produced``, when it was processed)."""
    kind = fault.kind
    if kind == "drop":
        await drop(scope)
        return
    body = produced[2] if produced is not None else None
    if kind == "http":
        extra = [] if fault.retry_after is None else [(b"retry-after", str(fault.retry_after).encode())]
        page = _status_page(fault.status) if fault.body is None else fault.body.encode()
        await _send(send, fault.status, page, fault.content_type or "text/html; charset=utf-8", extra)
    elif kind == "html":
        page = CLOUDFLARE_PAGE.encode() if fault.body is None else fault.body.encode()
        extra = [(b"server", b"cloudflare"), (b"cf-ray", b"8c1f2a3b4d5e6f70-AMS"), (b"cache-control", b"no-cache")]
        await _send(send, fault.status, page, fault.content_type or "text/html; charset=UTF-8", extra)
    elif kind == "malformed":
        text = PHP_NOTICE + body if body is not None else PHP_FATAL
        await _send(send, 200, text if fault.body is None else fault.body.encode(), fault.content_type or "text/html; charset=UTF-8")
    elif kind == "truncated":
        whole = body if body is not None else json_bytes({"error": "Incorrect request"})
        cut = whole[: max(1, len(whole) // 2)] if len(whole) > 1 else b""
        await _send(send, 200, cut, fault.content_type or "application/json")
    elif kind == "empty":
        await _send(send, 200, b"", fault.content_type or "text/html; charset=UTF-8")


async def capture(app: Any, scope: Scope, receive: Receive) -> tuple[int, list[Any], bytes]:
    status, headers, chunks = 200, [], []

    async def send(message: Any) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, headers, b"".join(chunks)
