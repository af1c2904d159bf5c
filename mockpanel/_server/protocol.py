"""The direct path: every use of uvicorn's and httptools' internals, in this one module.

``PanelProtocol`` is uvicorn's httptools protocol, subclassed, and ``PanelServer`` is
``uvicorn.Server`` with its own listeners; both lean on what uvicorn does not publish (the
protocol's ``cycle``, ``flow``, ``pipeline``, ``_start_asgi_task``, its parser callbacks and
keep-alive timer; the server's ``startup``, ``servers``, ``server_state``). They are used only
where ``unsupported()`` finds nothing wrong: uvicorn and httptools releases this module was tested
with (``TESTED``, the releases .ci/floors runs), the attributes it uses present, and a probe
connection answered byte for byte as uvicorn's own protocol answers it, an upgrade offer's body
read. Anywhere else, _server/serving.py serves with uvicorn's public path (_server/guard.py).

What the protocol does (docs/http.md):

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
  JSON ``{"error": ...}``, like everything the app answers (_server/own_answers.py).
- The common request is answered in the connection itself: a form POST to a panel's API path
  (the app's ``direct_entry`` finds its ``HotPath``) is answered as its last byte is parsed,
  with no ASGI task, receive or send. The bytes are the ones the app would send; whatever the
  hot path does not take goes to the app as usual, its body already read.
- Those answers are written at the end of the event loop's turn, each connection's in one
  write, and before anything else is written to the connection or it closes (the client's
  half-close included): in the order their requests came.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import socket
import threading
from typing import TYPE_CHECKING, Any, Callable

import httptools
import uvicorn
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .. import _connections as connections
from .hosts import LOOPBACK_ONLY, REFUSED, Hosts, local_address
from .listener import Listener
from .own_answers import (
    CONNECT_REFUSED, HEADER_LIMIT, PIPELINE_LIMIT, READ_TIMEOUT, STATUS_LINES, head_without_offer, refusal, too_large,
    too_slow, unparsable,
)

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import MutableMapping

    from .hotpath import HotPath

# An app's ``direct_entry``: the hot path that answers a request for this raw URL, and what the
# app adds to the root path (a hub's /p/<id>); None for any other URL.
DirectEntry = Callable[[bytes], "tuple[HotPath, str] | None"]

# The releases this module was tested with, oldest and newest (major, minor): .ci/floors runs both ends.
# pyproject.toml caps both packages at the newest, and unsupported() refuses any release outside.
TESTED = {"uvicorn": ((0, 53), (0, 55)), "httptools": ((0, 6), (0, 9))}
DIRECT_BODY = 64 * 1024  # longest body answered in the connection (uvicorn's read buffer's high water)
DIRECT_PER_READ = 16  # requests of one read answered in the connection; the rest of a pipelined flood waits its turn
# The Content-Length of the common answers, written once: formatting an int as bytes costs more than the lookup.
_KNOWN_LENGTHS = 2048
_LENGTHS = [b"%d" % n for n in range(_KNOWN_LENGTHS)]


class PanelProtocol(HttpToolsProtocol):
    """httptools, with upgrade offers ignored, bounded request heads and a read deadline."""

    direct_path = True  # serving.server gives it PanelServer's listeners
    header_limit = HEADER_LIMIT
    read_timeout = READ_TIMEOUT
    hosts: Hosts = LOOPBACK_ONLY

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local: str | None = None  # the address this connection reached (hosts.py)
        self._in_head = True  # reading a request's line and headers
        self._head_bytes = 0
        self._counted = True  # _head_bytes counts every byte of the request being read
        self._timer: asyncio.TimerHandle | None = None  # the connection's one timer (_check_times)
        self._begun: float | None = None  # loop time the request being read began; None between requests
        self._idle: float | None = None  # loop time the connection went idle (nothing asked, all answered)
        self._refusal: tuple[int, str] | None = None
        self._replay: bytes | None = None  # the head of a request whose upgrade offer is ignored
        self._replaying = False  # parsing that head again: it must not be an offer any more
        self._entry: DirectEntry | None = None  # the app's direct entry (connection_made)
        self._direct: HotPath | None = None  # the hot path that answers the request being read
        self._direct_parts: list[bytes] = []  # the body's pieces: joined once, however it was split
        self._direct_left = DIRECT_PER_READ  # answers this read may still make in the connection
        self._direct_keep_alive = True
        # Answers made in the connection during this turn of the event loop, written together at its
        # end (_flush): a server that writes each answer as it is made wakes its client (on loopback,
        # in the write itself) once per answer, between every two requests it reads.
        self._out: list[bytes] = []
        # The raw URL answered last and its scope's path and raw_path: a client asks the same URL again and again.
        self._paths: tuple[bytes | None, str, bytes] = (None, "", b"")
        self._closing = False  # the server is shutting down: close after the request being read
        self._address: connections.Address | None = None

    # --- connection ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.flow = _Flow(transport)
        self._address = connections.opened(transport)  # the "drop" fault finds it there
        self._local = local_address(transport.get_extra_info("sockname"))
        # uvicorn logs and counts in its cycle. Its access log is asked for by the config: uvicorn's own
        # test (a handler on its logger) is also true under pytest 9, which hangs a capturing handler on it.
        if not self.config.access_log and self.limit_concurrency is None:
            self._entry = direct_entry(self.app)
        # A silent new connection is idle from now (uvicorn would wait for a first request forever).
        self._idle = self.loop.time()
        self._timer = self.loop.call_at(self._idle + self.timeout_keep_alive, self._check_times)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self._out = []  # the client left: nothing more reaches it
        super().connection_lost(exc)
        connections.closed(self._address)

    def data_received(self, data: bytes) -> None:
        self._idle = None
        self._direct_left = DIRECT_PER_READ
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
                self.parser, self._replaying = httptools.HttpRequestParser(self), True
                lenient = getattr(self.parser, "set_dangerous_leniencies", None)  # httptools >= 0.6.3
                if lenient is not None:
                    lenient(lenient_data_after_close=True)  # as uvicorn sets up its own parser
                self._in_head, self._head_bytes = True, 0
                continue
            except httptools.HttpParserError as exc:
                status, message = self._refusal or (400, unparsable(exc, data))
                self._refuse(status, message)
                return
            break
        if self._in_head and self._head_bytes > self.header_limit:
            self._refuse(431, too_large(self.header_limit))

    def eof_received(self) -> None:
        """The client sent all it will (a half-close): the answers made for it still go out, then the
        transport closes, as uvicorn's does (the end of a read may come in the turn that answered)."""
        self._flush()

    def on_response_complete(self) -> None:
        """uvicorn's, with the connection's timer kept instead of a new keep-alive timer."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        if self.flow.read_paused:  # else resuming does nothing (and costs two calls, on every answer)
            self.flow.resume_reading()
        if self.pipeline:  # a pipelined request waits: start it
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        elif self._begun is None:  # nothing more asked: idle from now
            self._idle = self.loop.time()
        flow = self.flow
        if isinstance(flow, _Flow) and flow.held and len(self.pipeline) < PIPELINE_LIMIT // 2:  # drained: read on
            flow.release()

    def _should_upgrade(self) -> bool:
        return False  # no WebSocket routes: every upgrade offer is ignored

    def shutdown(self) -> None:
        if self._direct is not None:  # a request being read: answered, then the connection closes
            self._closing = True
            return
        self._flush()  # answers already made go out before the connection closes
        super().shutdown()

    # --- parser callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        # An answer made in the connection may have closed it (HTTP/1.0, ``Connection: close``,
        # shutdown) with more requests left in the same read: they are dropped unread, as uvicorn
        # drops requests queued behind an answer that closes (the raise ends this read's parsing).
        if self.transport.is_closing():
            raise ConnectionAbortedError("the connection was closed by its last answer")
        HttpToolsProtocol.on_message_begin(self)

    def on_headers_complete(self) -> None:
        self._in_head = False
        # The bytes read since the request began bound its head: only a head that may be too large, or
        # one that began inside bytes already counted for another (pipelined), is measured.
        if not self._counted or self._head_bytes > self.header_limit:
            if len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers) > self.header_limit:
                self._refusal = (431, too_large(self.header_limit))
                raise ValueError("request head too large")
        # One pass over the headers: the Host is checked (before all), and what the direct path asks is noted.
        hosts = self.hosts
        length: bytes = b""
        content_type: bytes | None = None
        plain = True  # no Transfer-Encoding, no proxy's X-Forwarded-*
        for name, value in self.headers:
            if name == b"host":
                if value not in hosts.served and not hosts.allows(value, self._local):
                    self._refusal = (REFUSED, hosts.refusal(value))
                    raise ValueError("a Host this server does not answer")
            elif name == b"content-length":
                length = value
            elif name == b"content-type":
                content_type = value
            elif name == b"transfer-encoding" or name[:12] == b"x-forwarded-":
                plain = False
        if self.parser.should_upgrade():  # an upgrade offer, or CONNECT (httptools counts it as one)
            if self.parser.get_method() == b"CONNECT":  # a proxy's verb: nothing here tunnels
                self._refusal = CONNECT_REFUSED
                raise ValueError("CONNECT")
            if self._replaying:  # still an offer without its token: refuse, do not loop
                self._refusal = (400, "Invalid HTTP request: unexpected protocol switch")
                raise ValueError("an offer parsed again")
            self._replay = head_without_offer(self.parser.get_method(), self.url, self.parser.get_http_version(), self.headers)
            return  # parsed again, without the offer, once httptools stops at the upgrade
        self._replaying = False
        entry = self._entry
        if entry is not None and plain and self._take_directly(entry, length, content_type):
            return
        self._flush()  # answers made before this request go out before anything the app writes for it
        HttpToolsProtocol.on_headers_complete(self)  # not super(): once per request, it costs more
        if len(self.pipeline) >= PIPELINE_LIMIT and isinstance(self.flow, _Flow):  # a flood: read no more until answers drain
            self.flow.hold()

    def on_body(self, body: bytes) -> None:
        if self._direct is not None:
            self._direct_parts.append(body)  # at most DIRECT_BODY in all: its Content-Length said so
            return
        HttpToolsProtocol.on_body(self, body)

    def on_message_complete(self) -> None:
        self._begun = None  # no request being read: the timer finds nothing to time out
        self._in_head, self._head_bytes, self._counted = True, 0, False
        if self._replay is not None:
            return
        hot = self._direct
        if hot is not None:
            body = b"".join(self._direct_parts)  # one piece: that piece itself, no copy
            self._direct, self._direct_parts = None, []
            self._answer_directly(hot, body)
            return
        HttpToolsProtocol.on_message_complete(self)

    # --- the common request, answered in the connection --------------------------------------

    def _take_directly(self, entry: DirectEntry, length: bytes, content_type: bytes | None) -> bool:
        """Whether the request whose head was just parsed is read here and answered in the
        connection: a POST to a hot path's URL (no query string: the raw URL is matched), a
        Content-Length within DIRECT_BODY, nothing before it still being answered, no
        ``Expect``, no Transfer-Encoding nor proxy's ``X-Forwarded-*`` (uvicorn's proxy middleware
        would rewrite the scope: the caller saw the headers), and at most DIRECT_PER_READ of one
        read, so a client pipelining hundreds of requests in one packet does not hold the loop from
        the others. It sets the scope as uvicorn's ``on_headers_complete`` does."""
        if self._direct_left <= 0:  # a pipelined flood: the rest go the app's way, one per turn of the loop
            return False
        found = entry(self.url)
        if found is None or self.parser.get_method() != b"POST" or self.expect_100_continue or self.pipeline:
            return False
        cycle = self.cycle
        if (cycle is not None and not cycle.response_complete) or self.flow.write_paused:
            return False
        if not length.isdigit() or int(length) > DIRECT_BODY:
            return False
        version = self.parser.get_http_version()
        scope = self.scope
        scope["method"] = "POST"
        if version != "1.1":
            scope["http_version"] = version
        url, paths = self.url, self._paths
        if paths[0] != url:
            paths = self._paths = (url, self.root_path + url.decode("ascii"), self.root_path.encode("ascii") + url)
        scope["path"], scope["raw_path"] = paths[1], paths[2]
        scope["query_string"] = b""
        hot, root = found
        if not hot.takes_head(content_type, int(length)):  # checked on the head, as its ASGI way does
            return False
        scope["root_path"] = self.root_path + root  # what a hub's child scope has
        self._direct = hot
        self._direct_left -= 1
        self._direct_keep_alive = version != "1.0" and self.parser.should_keep_alive()
        return True

    def _answer_directly(self, hot: HotPath, body: bytes) -> None:
        """Answer the request read in the connection, as uvicorn would write the app's answer;
        or hand it to the app, its body already read, when the hot path hands it back (a trigger word)."""
        scope: MutableMapping[str, Any] = self.scope  # type: ignore[assignment]  # the app's view of it (uvicorn's TypedDict)
        try:
            answered = hot.answer(scope, body)
        except Exception:  # a bug, not a panel's error (those are answers): logged, as uvicorn does
            self.logger.exception("Exception in ASGI application")
            self._refuse(500, "Internal error")
            return
        if answered is None:
            scope["root_path"] = self.root_path  # uvicorn's scope: the app adds its own part again
            self._flush()
            HttpToolsProtocol.on_headers_complete(self)  # the app's task, as for any request
            cycle = self.cycle
            cycle.body += body
            cycle.more_body = False
            cycle.keep_alive = cycle.keep_alive and not self._closing
            cycle.message_event.set()
            return
        status, content_type, answer = answered
        keep_alive = self._direct_keep_alive and not self._closing
        head = [STATUS_LINES[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        length = len(answer)
        head += [b"content-type: ", content_type, b"\r\ncontent-length: ",
                 _LENGTHS[length] if length < _KNOWN_LENGTHS else b"%d" % length,
                 b"\r\n\r\n" if keep_alive else b"\r\nconnection: close\r\n\r\n"]
        transport = self.transport
        if not transport.is_closing():  # a client that left gets nothing; what it asked is done (as in the app)
            out = self._out
            if not keep_alive:  # written now, with any before it, and closed
                out += (b"".join(head), answer)
                self._flush()
                transport.close()
            else:  # written at the end of this turn of the loop, with the connection's others
                if not out:
                    self.loop.call_soon(self._flush)
                out += (b"".join(head), answer)  # as they are: a kept answer (a catalogue's MB) is not copied
        self.on_response_complete()

    def _flush(self) -> None:
        """Write the answers made in the connection since the last flush, in one write. Called at the
        end of the turn of the loop that made them, and before anything else is written or the
        connection closes (a refusal, an answer the app writes, a timeout, a shutdown, a half-close),
        so the answers go out in the order their requests came."""
        out = self._out
        if out:
            self._out = []
            if not self.transport.is_closing():
                self.transport.writelines(out)  # one system call (uvloop: a vectored write)

    # --- helpers ----------------------------------------------------------------------------

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
        if begun is not None and not getattr(self.flow, "held", False):  # held: the server, not the client, is slow
            due = begun + self.read_timeout
            if now >= due:
                self._too_slow()
                return
        elif idle is not None:
            due = idle + self.timeout_keep_alive
            if now >= due:
                self._flush()
                self.timeout_keep_alive_handler()
                return
        else:  # the app is answering: nothing here is due
            due = later
        self._timer = self.loop.call_at(min(due, later), self._check_times)

    def _too_slow(self) -> None:
        if self._in_head or self._direct is not None or self.cycle is None or not self.cycle.response_started:
            self._refuse(408, too_slow(self.read_timeout))
        else:
            self._flush()
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
        self._flush()  # the answers to the requests before it first
        self.transport.write(refusal(status, message, self.server_state.default_headers))
        self.transport.close()


class _Flow(FlowControl):
    """uvicorn's flow control, with reading held while PIPELINE_LIMIT requests wait: uvicorn resumes reading
    on every answer and every ``receive``, which let a client that pipelines without reading its answers
    queue requests without end (docs/http.md)."""

    held = False

    def hold(self) -> None:
        self.held = True
        self.pause_reading()

    def release(self) -> None:
        self.held = False
        self.resume_reading()

    def resume_reading(self) -> None:
        if not self.held:
            super().resume_reading()


def direct_entry(app: Any) -> DirectEntry | None:
    """The app's ``direct_entry`` (MockApp, Hub), under uvicorn's proxy-headers middleware; None
    for any other app (it is served the ASGI way only)."""
    while type(app) is ProxyHeadersMiddleware:
        app = app.app
    found: DirectEntry | None = getattr(app, "direct_entry", None)
    return found


def protocol_class(*, header_limit: int = HEADER_LIMIT, read_timeout: float = READ_TIMEOUT,
                   hosts: Hosts = LOOPBACK_ONLY) -> type[PanelProtocol]:
    """``PanelProtocol`` with other limits (tests use short ones) or other names to answer."""
    if header_limit == HEADER_LIMIT and read_timeout == READ_TIMEOUT and hosts is LOOPBACK_ONLY:
        return PanelProtocol
    return type("PanelProtocol", (PanelProtocol,), {"header_limit": header_limit, "read_timeout": read_timeout,
                                                    "hosts": hosts})


class PanelServer(uvicorn.Server):
    """``uvicorn.Server``, with a ``Listener`` on each socket given to ``run(sockets=...)``."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if sockets is None or self.config.ssl is not None:
            await super().startup(sockets)
            return
        config, loop = self.config, asyncio.get_running_loop()
        for sock in sockets:  # listening before ``started`` is set: a client may connect at once
            sock.listen(config.backlog)
        await super().startup(sockets=[])  # the app's start-up, without uvicorn's listeners

        def factory() -> asyncio.Protocol:  # as uvicorn's own create_protocol
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state, _loop=loop,
            )

        self.servers = [Listener(loop, sock, factory) for sock in sockets]  # type: ignore[misc]


# --- the start-up check ------------------------------------------------------------------------------

# Attributes of uvicorn's protocol this module reads, calls or replaces (the probe exercises the rest).
_USED = ("on_message_begin", "on_headers_complete", "on_body", "on_message_complete", "on_response_complete",
         "_start_asgi_task", "timeout_keep_alive_handler", "shutdown", "send_400_response", "_should_upgrade",
         "eof_received")
_USED_PER_CONNECTION = ("parser", "cycle", "flow", "pipeline", "server_state", "scope", "headers", "root_path",
                        "access_log", "limit_concurrency", "logger", "timeout_keep_alive", "loop", "transport",
                        "expect_100_continue")


def unsupported() -> str | None:
    """Why the direct path cannot serve with the uvicorn and httptools installed; None when it can."""
    for package, (oldest, newest) in TESTED.items():
        version = importlib.metadata.version(package)
        release = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
        if not oldest <= release <= newest:
            tested = f"{'.'.join(map(str, oldest))} to {'.'.join(map(str, newest))}"
            return f"{package} {version} is not a release the direct path was tested with ({tested})"
    missing = [name for name in _USED if not hasattr(HttpToolsProtocol, name)]
    if missing:
        return f"uvicorn's HttpToolsProtocol has no {', '.join(missing)}"
    found: list[str | None] = [None]
    probing = threading.Thread(target=lambda: found.__setitem__(0, _probe()), name="mockpanel-http-probe")
    probing.start()  # a loop of its own, whatever the caller's thread runs
    probing.join(10)
    return "the probe did not finish within 10 s" if probing.is_alive() else found[0]


class _ProbeHot:
    """``HotPath``'s interface, as the direct path asks it: every form POST taken, answered with the body
    it read, but ``hand=over``."""

    def takes_head(self, content_type: bytes | None, length: int) -> bool:
        return True

    def answer(self, scope: Any, body: bytes) -> tuple[int, bytes, bytes] | None:
        return None if body == b"hand=over" else (200, b"application/json", b'{"read":"%s"}' % body)


class _ProbeApp:
    """An app that answers as ``_ProbeHot`` does, the ASGI way; ``direct`` gives it a direct entry."""

    def __init__(self, direct: bool) -> None:
        self.hot = _ProbeHot()
        if direct:
            self.direct_entry = lambda url: (self.hot, "") if url == b"/probe" else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body, more = b"", scope["type"] == "http"
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        answer = b'{"read":"%s"}' % body
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]})
        await send({"type": "http.response.body", "body": answer})


class ProbeTransport(asyncio.Transport):
    """A connection's transport in memory: what is written to it is kept in ``written`` (the probe's,
    and tests')."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop, self.written, self.closing = loop, bytearray(), False
        self.protocol: asyncio.Protocol | None = None

    def write(self, data: Any) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        if not self.closing and self.protocol is not None:
            self.closing = True
            self.loop.call_soon(self.protocol.connection_lost, None)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 9), "peername": ("127.0.0.1", 9)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


_SILENT = logging.getLogger("mockpanel.server.probe")
_SILENT.addHandler(logging.NullHandler())
_SILENT.propagate = False
_SILENT.setLevel(logging.CRITICAL + 1)

_FORM = b"content-type: application/x-www-form-urlencoded\r\n"
_OFFERED = b"connection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\nhttp2-settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"


def _post(body: bytes, head: bytes = b"", version: bytes = b"1.1") -> bytes:
    return b"POST /probe HTTP/%s\r\nhost: 127.0.0.1\r\n%s%scontent-length: %d\r\n\r\n%s" % (
        version, _FORM, head, len(body), body)


# What the probe sends, one read each, and how many answers each awaits: answered directly; the
# app's way then one pipelined behind it; handed back to the app with its body; an upgrade offer
# with a body (compared with what it should be: uvicorn loses its body); HTTP/1.0, closed after it.
_PROBE = [
    (_post(b"a=1"), 1),
    (b"GET /probe HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n" + _post(b"b=2"), 2),
    (_post(b"hand=over"), 1),
    (_post(b"c=3", _OFFERED), 1),
    (_post(b"d=4", version=b"1.0"), 1),
]


def _expected(body: bytes, close: bool = False) -> bytes:
    answer = b'{"read":"%s"}' % body
    return (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s"
            % (len(answer), b"connection: close\r\n" if close else b"", answer))


def _probe() -> str | None:
    """Serve _PROBE on a connection of ``PanelProtocol`` and one of uvicorn's own protocol; None
    when both wrote what uvicorn writes, and the offer's body was read."""
    try:
        loop = asyncio.new_event_loop()
        try:
            direct = loop.run_until_complete(_converse(loop, PanelProtocol, _PROBE))
            own = loop.run_until_complete(_converse(loop, HttpToolsProtocol, [p for p in _PROBE if _OFFERED not in p[0]]))
        finally:
            loop.close()
    except Exception as exc:  # anything at all: the internals are not the ones this module knows
        return f"the probe failed: {type(exc).__name__}: {exc}"
    offer = _expected(b"c=3")
    if direct.replace(offer, b"", 1) != own:
        return f"the probe's answers differ from uvicorn's own: {_difference(direct.replace(offer, b'', 1), own)}"
    if offer not in direct:
        return "the probe's upgrade offer was not answered"
    expected = [_expected(b"a=1"), _expected(b""), _expected(b"b=2"), _expected(b"hand=over"), _expected(b"d=4", close=True)]
    if own != b"".join(expected):
        return f"uvicorn's own protocol answered the probe unexpectedly: {_difference(own, b''.join(expected))}"
    return None


def _difference(got: bytes, wanted: bytes) -> str:
    at = next((n for n, (a, b) in enumerate(zip(got, wanted)) if a != b), min(len(got), len(wanted)))
    return f"at byte {at}, {got[max(0, at - 20):at + 60]!r} where {wanted[max(0, at - 20):at + 60]!r} was expected"


async def _converse(loop: asyncio.AbstractEventLoop, kind: type[HttpToolsProtocol], sent: list[tuple[bytes, int]]) -> bytes:
    app = _ProbeApp(direct=kind is PanelProtocol)
    config = uvicorn.Config(app, log_config=None, lifespan="off", access_log=False, server_header=False, date_header=False)
    config.load()
    from uvicorn.server import ServerState

    protocol = kind(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    protocol.access_log = False  # whatever the process's logging: the probe is not logged,
    protocol.logger = _SILENT  # nor what goes wrong in it (unsupported() says what)
    transport = ProbeTransport(loop)
    transport.protocol = protocol
    protocol.connection_made(transport)
    missing = [name for name in _USED_PER_CONNECTION if not hasattr(protocol, name)]
    if missing:
        raise AttributeError(f"uvicorn's protocol has no {', '.join(missing)}")
    answers = 0
    for data, count in sent:
        protocol.data_received(data)
        answers += count
        for _ in range(200):  # a few turns of the loop: the app does no I/O
            if transport.written.count(b"HTTP/1.1 ") >= answers:
                break
            await asyncio.sleep(0)
    await asyncio.sleep(0)  # the last answer's close reaches the protocol
    if not transport.closing:
        transport.close()
        await asyncio.sleep(0)
    return bytes(transport.written)
