"""uvicorn's public path: its own httptools protocol, behind a guard that reads each request first.

The direct path (_server/protocol.py) leans on uvicorn's internals; where they are not the ones it
was tested with, every connection is served this way instead (_server/serving.py decides). The
guard is an asyncio protocol in front of uvicorn's ``HttpToolsProtocol`` (what
``uvicorn.Config(http="httptools")`` runs), which it drives through the asyncio protocol interface
alone: every byte a client sends is parsed here first, with httptools' public parser, and uvicorn
is handed the same requests, each head whole:

- an upgrade offer (cURL's ``Upgrade: h2c``) is handed over without the ``upgrade`` token of its
  Connection header, so its body is read: httptools skips the body of any request that offers an
  upgrade, and uvicorn then runs the request without it (github.com/Kludex/uvicorn/issues/2722);
- request heads are bounded (431), each request has a read deadline (408), a connection that says
  nothing is closed after the keep-alive time, and what httptools cannot parse is refused (400):
  as JSON, as on the direct path (_server/own_answers.py);
- requests behind one that closes the connection are not handed over (uvicorn would not run them),
  nor a target uvicorn cannot parse (it would answer it in plain text).

Every request is parsed twice, so this path is for when the direct one cannot be trusted, not for speed.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .. import _connections as connections
from .hosts import LOOPBACK_ONLY, REFUSED, Hosts, local_address
from .own_answers import (
    CONNECT_REFUSED, HEADER_LIMIT, KEEP_ALIVE, PIPELINE_LIMIT, READ_TIMEOUT, head_without_offer, refusal, too_large,
    too_slow, unparsable,
)


class GuardedProtocol(asyncio.Protocol):
    """uvicorn's httptools protocol, handed each request once this guard has read its head."""

    header_limit = HEADER_LIMIT
    read_timeout = READ_TIMEOUT
    keep_alive: float = KEEP_ALIVE  # as uvicorn's timeout_keep_alive (serving.server_options sets both)
    hosts: Hosts = LOOPBACK_ONLY

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._served: asyncio.Protocol = HttpToolsProtocol(*args, **kwargs)  # whatever uvicorn gives its own
        self._parser = _parser(self)
        self._transport: asyncio.Transport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._address: connections.Address | None = None
        self._local: str | None = None  # the address this connection reached (hosts.py)
        self._timer: asyncio.TimerHandle | None = None
        self._made = 0.0  # loop time the connection was made
        self._heard = False  # the client has sent something
        self._out: list[bytes] = []  # what this read hands over
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._in_head = True  # reading a request's line and headers
        self._head_bytes = 0
        self._counted = True  # _head_bytes counts every byte of the request being read
        self._begun: float | None = None  # loop time the request being read began; None between requests
        self._chunked = False
        self._offer: bytes | None = None  # the head of an upgrade offer, without it: handed over as its body comes
        self._replaying = False  # parsing such a head again: it must not be an offer any more
        self._refusal: tuple[int, str] | None = None
        self._ended = False  # a request that closes the connection was handed over: nothing after it is
        self.writes = 0  # what uvicorn's protocol wrote (its transport is watched)
        self.handed = 0  # requests handed over whole
        self.answered = 0  # answers uvicorn began (status lines it wrote)
        self.holding = False  # reading stopped here: PIPELINE_LIMIT requests wait for their answers
        self.served_paused = False  # reading stopped by uvicorn's own flow control
        self._writes_at_head = 0  # ... when the request being read was handed over

    # --- the connection, passed on -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's is one in all but its class
        self._transport = transport
        self._loop = loop = asyncio.get_running_loop()
        self._address = connections.opened(transport)
        self._local = local_address(transport.get_extra_info("sockname"))
        self._served.connection_made(_Watched(transport, self))
        self._made = loop.time()
        self._timer = loop.call_at(self._made + min(self.keep_alive, self.read_timeout), self._check_times)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._served.connection_lost(exc)
        connections.closed(self._address)

    def eof_received(self) -> bool | None:
        return self._served.eof_received()

    def pause_writing(self) -> None:
        self._served.pause_writing()

    def resume_writing(self) -> None:
        self._served.resume_writing()

    def data_received(self, data: bytes) -> None:
        if self._ended:  # behind an answer that closes the connection: never run
            return
        self._heard = True
        if self._begun is None:  # no request being read: these bytes start the next one's head
            self._head_bytes, self._counted = 0, True
        while True:
            if self._in_head:
                self._head_bytes += len(data)
            try:
                self._parser.feed_data(data)
            except httptools.HttpParserUpgrade as exc:
                # httptools stopped at the end of an offer's head (its body unread): parse on without the offer.
                data, self._offer = (self._offer or b"") + data[exc.args[0]:], None
                self._parser, self._replaying = _parser(self), True
                self._in_head, self._head_bytes = True, 0
                if data:
                    continue
            except httptools.HttpParserError as exc:
                if not self._ended:  # else: bytes behind a request that closes the connection, ignored
                    self._refuse(*(self._refusal or (400, unparsable(exc, data))))
                    return
            break
        if self._in_head and self._head_bytes > self.header_limit:
            self._refuse(431, too_large(self.header_limit))
            return
        if self._out:
            out = b"".join(self._out)
            self._out.clear()
            self._served.data_received(out)
        if self.handed - self.answered >= PIPELINE_LIMIT and not self.holding:  # a flood: wait for answers
            self.holding = True
            assert self._transport is not None
            self._transport.pause_reading()

    def began_answer(self) -> None:
        """uvicorn wrote a status line: one more request answered; a held connection reads on once drained."""
        self.answered += 1
        if self.holding and self.handed - self.answered < PIPELINE_LIMIT // 2:
            self.holding = False
            if not self.served_paused and self._transport is not None and not self._transport.is_closing():
                self._transport.resume_reading()

    # --- httptools' callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._ended:
            raise ConnectionAbortedError("a request behind one that closes the connection")
        self._url, self._headers = b"", []
        if self._begun is None:
            assert self._loop is not None
            self._begun = self._loop.time()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        url, headers, parser = self._url, self._headers, self._parser
        # A head that began inside bytes already counted for another (pipelined) is measured here.
        if not self._counted or self._head_bytes > self.header_limit:
            if len(url) + sum(len(n) + len(v) + 4 for n, v in headers) > self.header_limit:
                self._refusal = (431, too_large(self.header_limit))
                raise ValueError("request head too large")
        hosts = self.hosts
        for name, value in headers:
            if name.lower() == b"host" and not hosts.allows(value, self._local):  # never handed over
                self._refusal = (REFUSED, hosts.refusal(value))
                raise ValueError("a Host this server does not answer")
        method = parser.get_method()
        offer = parser.should_upgrade()  # an upgrade offer, or CONNECT (httptools counts it as one)
        if offer and method == b"CONNECT":  # a proxy's verb: nothing here tunnels
            self._refusal = CONNECT_REFUSED
            raise ValueError("CONNECT")
        if offer and self._replaying:  # still an offer without its token: refuse, do not loop
            self._refusal = (400, "Invalid HTTP request: unexpected protocol switch")
            raise ValueError("an offer parsed again")
        self._replaying = False
        try:  # as uvicorn's protocol will: an httptools before llhttp 9 lets raw non-ASCII through
            httptools.parse_url(url)
        except httptools.HttpParserInvalidURLError:
            self._refusal = (400, "Invalid HTTP request: invalid URL")
            raise
        self._chunked = any(name.lower() == b"transfer-encoding" for name, _ in headers)
        head = head_without_offer(method, url, parser.get_http_version(), headers)
        self._writes_at_head = self.writes
        if offer:
            self._offer = head  # handed over as its body comes, or parsed again once httptools stops
        else:
            self._out.append(head)

    def on_body(self, body: bytes) -> None:
        if self._offer is not None:  # an httptools that reads an offer's body after all
            self._out.append(self._offer)
            self._offer = None
        self._out.append(b"%x\r\n%s\r\n" % (len(body), body) if self._chunked else body)

    def on_message_complete(self) -> None:
        if self._offer is not None:  # httptools skipped the offer's body: it is parsed again
            return
        if self._chunked:
            self._out.append(b"0\r\n\r\n")
        self.handed += 1
        self._begun = None
        self._in_head, self._head_bytes, self._counted = True, 0, False
        parser = self._parser
        if parser.get_http_version() == "1.0" or not parser.should_keep_alive():
            self._ended = True  # uvicorn closes after its answer

    # --- the guard's own --------------------------------------------------------------------------

    def _check_times(self) -> None:
        """The connection's timer: a request still being read past its read deadline gets a 408, a
        connection that never said anything is closed after the keep-alive time (once it has,
        uvicorn's own keep-alive timer closes it when idle)."""
        self._timer = None
        transport, loop = self._transport, self._loop
        assert transport is not None and loop is not None
        if transport.is_closing():
            return
        now = loop.time()
        begun, later = self._begun, now + min(self.keep_alive, self.read_timeout)
        if begun is not None and not self.holding:  # held: the server, not the client, is slow
            due = begun + self.read_timeout
            if now >= due:
                self._too_slow()
                return
        elif not self._heard:
            due = self._made + self.keep_alive
            if now >= due:
                transport.close()
                return
        else:
            due = later
        self._timer = loop.call_at(min(due, later), self._check_times)

    def _too_slow(self) -> None:
        if self._in_head or self.writes == self._writes_at_head:  # nothing answered to it yet
            self._refuse(408, too_slow(self.read_timeout))
        else:
            assert self._transport is not None
            self._transport.close()

    def _refuse(self, status: int, message: str) -> None:
        """Answer JSON and close: the connection's state is unknown past a bad request."""
        self._ended = True
        self._out.clear()
        transport = self._transport
        assert transport is not None
        if not transport.is_closing():
            transport.write(refusal(status, message))
            transport.close()


def _parser(protocol: GuardedProtocol) -> httptools.HttpRequestParser:
    parser = httptools.HttpRequestParser(protocol)
    lenient = getattr(parser, "set_dangerous_leniencies", None)  # httptools >= 0.6.3
    if lenient is not None:
        lenient(lenient_data_after_close=True)  # as uvicorn sets up its own parser
    return parser


class _Watched(asyncio.Transport):
    """The connection's transport as uvicorn's protocol sees it: the same, its writes counted."""

    def __init__(self, transport: asyncio.Transport, guard: GuardedProtocol) -> None:
        super().__init__()
        self._transport = transport
        self._guard = guard

    def write(self, data: bytes | bytearray | memoryview) -> None:
        guard = self._guard
        guard.writes += 1
        head = bytes(data[:13])
        if head[:7] == b"HTTP/1." and head[9:13] != b"100 ":  # uvicorn writes each answer's head in one write
            guard.began_answer()
        self._transport.write(data)

    def writelines(self, list_of_data: Any) -> None:
        self._guard.writes += 1
        self._transport.writelines(list_of_data)

    def close(self) -> None:
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def abort(self) -> None:
        self._transport.abort()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._guard.served_paused = True
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._guard.served_paused = False
        if not self._guard.holding:  # uvicorn resumes on every answer and receive: the guard's hold stays
            self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self._transport.write_eof()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()


def guarded_class(*, header_limit: int = HEADER_LIMIT, read_timeout: float = READ_TIMEOUT,
                  keep_alive: float = KEEP_ALIVE, hosts: Hosts = LOOPBACK_ONLY) -> type[GuardedProtocol]:
    """``GuardedProtocol`` with other limits, or other names to answer."""
    if (header_limit, read_timeout, keep_alive) == (HEADER_LIMIT, READ_TIMEOUT, KEEP_ALIVE) and hosts is LOOPBACK_ONLY:
        return GuardedProtocol
    limits = {"header_limit": header_limit, "read_timeout": read_timeout, "keep_alive": keep_alive, "hosts": hosts}
    return type("GuardedProtocol", (GuardedProtocol,), limits)
