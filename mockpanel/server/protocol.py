"""The HTTP/1.1 connection: uvicorn's httptools protocol, made to behave as real clients need.

- An ``Upgrade`` offer (cURL's ``CURL_HTTP_VERSION_2_0`` over ``http://`` sends ``Upgrade: h2c``)
  is ignored, as RFC 9110 section 7.8 allows: the request is answered as HTTP/1.1, body
  included. httptools skips the body of any request that offers an upgrade, so the request
  head is parsed again without the ``upgrade`` token of its Connection header, followed by
  the bytes that came after it.
- Bounded: a request's line and headers may take ``header_limit`` bytes (431 past it) and
  ``read_timeout`` seconds from its first byte to its last (408 past it); a connection that
  says nothing is closed after the keep-alive timeout. Slow or idle clients hold no more
  than that.
- One timer per connection keeps both times (uvicorn makes and cancels a keep-alive timer
  for every request): a request only notes when it began and when its answer ended.
- What the server answers by itself (431, 408, 400 for a request httptools cannot parse) is
  JSON ``{"error": ...}``, like everything the app answers (docs/http.md).

It leans on uvicorn's HttpToolsProtocol internals (``url``, ``headers``, ``cycle``, its
keep-alive timer); tests/test_http_protocol.py pins the behaviour should uvicorn change them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

HEADER_LIMIT = 32 * 1024  # request line + headers; nginx's default buffers are 4 x 8 KiB
READ_TIMEOUT = 15.0  # seconds from a request's first byte to its last
KEEP_ALIVE = 5  # seconds an idle connection stays open (uvicorn's default)
_OFFER = b"upgrade"  # the Connection token that makes an Upgrade header an offer


class PanelProtocol(HttpToolsProtocol):
    """httptools, with upgrade offers ignored, bounded request heads and a read deadline."""

    header_limit = HEADER_LIMIT
    read_timeout = READ_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # reading a request's line and headers
        self._head_bytes = 0
        self._counted = True  # _head_bytes counts every byte of the request being read
        self._timer: asyncio.TimerHandle | None = None  # the connection's one timer (_check_times)
        self._begun: float | None = None  # loop time the request being read began; None between requests
        self._idle: float | None = None  # loop time the connection went idle (nothing asked, all answered)
        self._refusal: tuple[int, str] | None = None
        self._replay: bytes | None = None  # the head of a request whose upgrade offer is ignored

    # --- connection ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # A silent new connection is idle from now (uvicorn would wait for a first request forever).
        self._idle = self.loop.time()
        self._timer = self.loop.call_at(self._idle + self.timeout_keep_alive, self._check_times)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._idle = None
        if self._begun is None:  # no request being read: these bytes start the next one's head
            self._begun = self.loop.time()
            self._head_bytes, self._counted = 0, True
        while True:
            if self._in_head:
                self._head_bytes += len(data)
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade as exc:
                if self._replay is None:  # not an offer this protocol took note of: refuse, do not guess
                    self._refuse(400, "Invalid HTTP request: unexpected protocol switch")
                    return
                data, self._replay = self._replay + data[exc.args[0]:], None
                self.parser = httptools.HttpRequestParser(self)
                lenient = getattr(self.parser, "set_dangerous_leniencies", None)  # httptools >= 0.6.3
                if lenient is not None:
                    lenient(lenient_data_after_close=True)  # as uvicorn sets up its own parser
                self._in_head, self._head_bytes = True, 0
                continue
            except httptools.HttpParserError as exc:
                status, message = self._refusal or (400, _reason(exc, data))
                self._refuse(status, message)
                return
            break
        if self._in_head and self._head_bytes > self.header_limit:
            self._refuse(431, self._too_large())

    def on_response_complete(self) -> None:
        """uvicorn's, with the connection's timer kept instead of a new keep-alive timer."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:  # a pipelined request waits: start it
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        elif self._begun is None:  # nothing more asked: idle from now
            self._idle = self.loop.time()

    def _should_upgrade(self) -> bool:
        return False  # no WebSocket routes: every upgrade offer is ignored

    # --- parser callbacks -------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self._in_head = False
        # The bytes read since the request began bound its head: only a head that may be too large, or
        # one that began inside bytes already counted for another (pipelined), is measured.
        if not self._counted or self._head_bytes > self.header_limit:
            if len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers) > self.header_limit:
                self._refusal = (431, self._too_large())
                raise ValueError("request head too large")
        if self.parser.should_upgrade():  # an upgrade offer, or CONNECT (httptools counts it as one)
            if self.parser.get_method() == b"CONNECT":  # a proxy's verb: nothing here tunnels
                self._refusal = (405, "CONNECT is not supported: this is an API server, not a proxy")
                raise ValueError("CONNECT")
            self._replay = self._head_without_upgrade()
            return  # parsed again, without the offer, once httptools stops at the upgrade
        HttpToolsProtocol.on_headers_complete(self)  # not super(): once per request, it costs more

    def on_message_complete(self) -> None:
        self._begun = None  # no request being read: the timer finds nothing to time out
        self._in_head, self._head_bytes, self._counted = True, 0, False
        if self._replay is not None:
            return
        HttpToolsProtocol.on_message_complete(self)

    # --- helpers ----------------------------------------------------------------------------

    def _head_without_upgrade(self) -> bytes:
        version = self.parser.get_http_version().encode()
        lines = [self.parser.get_method(), b" ", self.url, b" HTTP/", version, b"\r\n"]
        for name, value in self.headers:
            if name == b"connection":  # the Upgrade header stays, inert: the app sees what was sent
                tokens = [t.strip() for t in value.split(b",") if t.strip() and t.strip().lower() != _OFFER]
                if not tokens:
                    continue
                value = b", ".join(tokens)
            lines += [name, b": ", value, b"\r\n"]
        lines.append(b"\r\n")
        return b"".join(lines)

    def _too_large(self) -> str:
        return f"Request line and headers too large (limit {self.header_limit} bytes)"

    def _check_times(self) -> None:
        """The connection's timer: a request still being read past its read deadline gets a 408, a
        connection idle past the keep-alive timeout is closed. Otherwise it looks again when what
        it saw falls due, and never later than a keep-alive time from now: what it did not see
        (a request that ends, an answer that is sent) falls due no sooner than that."""
        self._timer = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        begun, idle, later = self._begun, self._idle, now + self.timeout_keep_alive
        if begun is not None:
            due = begun + self.read_timeout
            if now >= due:
                self._too_slow()
                return
        elif idle is not None:
            due = idle + self.timeout_keep_alive
            if now >= due:
                self.timeout_keep_alive_handler()
                return
        else:  # the app is answering: nothing here is due
            due = later
        self._timer = self.loop.call_at(min(due, later), self._check_times)

    def _too_slow(self) -> None:
        if self._in_head or self.cycle is None or not self.cycle.response_started:
            self._refuse(408, f"Request not received within {self.read_timeout:g} s; send it whole, promptly")
        else:
            self.transport.close()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, msg)

    def _refuse(self, status: int, message: str) -> None:
        """Answer JSON and close: the connection's state is unknown past a bad request."""
        self._cancel_timer()
        if self.transport.is_closing():
            return
        body = orjson.dumps({"error": message})
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content += [name, b": ", value, b"\r\n"]
        content += [
            b"content-type: application/json\r\ncontent-length: ", str(len(body)).encode(),
            b"\r\nconnection: close\r\n\r\n", body,
        ]
        self.transport.write(b"".join(content))
        self.transport.close()


def _reason(exc: Exception, data: bytes) -> str:
    if data[:2] == b"\x16\x03":
        return "Invalid HTTP request: a TLS handshake; this server speaks plain HTTP: use http://, not https://"
    if data[:3] == b"PRI":
        return "Invalid HTTP request: HTTP/2 with prior knowledge; this server speaks HTTP/1.1"
    text = str(exc).strip().rstrip(".")
    return f"Invalid HTTP request: {text[:200] if text else 'malformed request'}"


def protocol_class(*, header_limit: int = HEADER_LIMIT, read_timeout: float = READ_TIMEOUT) -> type[PanelProtocol]:
    """``PanelProtocol`` with other limits (tests use short ones)."""
    if header_limit == HEADER_LIMIT and read_timeout == READ_TIMEOUT:
        return PanelProtocol
    return type("PanelProtocol", (PanelProtocol,), {"header_limit": header_limit, "read_timeout": read_timeout})


def server_options(**overrides: Any) -> dict[str, Any]:
    """uvicorn.Config options every mockpanel server uses (``mockpanel serve``, the pytest hub)."""
    options: dict[str, Any] = dict(
        http=PanelProtocol, access_log=False, server_header=False, date_header=False,
        timeout_keep_alive=KEEP_ALIVE, h11_max_incomplete_event_size=HEADER_LIMIT,
    )
    options.update(overrides)
    return options
