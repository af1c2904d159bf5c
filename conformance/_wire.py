"""Bounded answers: a deadline over the whole answer and a cap on its size.

``--timeout`` covers an answer from the connect to its last byte. httpx's own
timeouts bound each socket operation, so a panel that trickles one byte at a time
could hold a request forever; here every socket read and write of a request gets
only what is left of its deadline (headers included), and the body is read in
chunks and dropped past ``max_bytes``, so memory stays bounded whatever is sent.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import httpcore
import httpx
import orjson

DEFAULT_MAX_ANSWER_BYTES = 10 * 1024 * 1024


class Deadline:
    """When the request in flight must be over (monotonic seconds); None: no request."""

    def __init__(self) -> None:
        self.at: float | None = None

    def left(self, timeout: float | None) -> float | None:
        if self.at is None:
            return timeout
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise httpcore.ReadTimeout("the whole-answer deadline passed")
        return remaining if timeout is None else min(timeout, remaining)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._deadline.left(timeout))
        return _Stream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, self._deadline.left(timeout), local_address, socket_options)
        return _Stream(stream, self._deadline)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, self._deadline.left(timeout), socket_options),
                       self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# httpcore's errors as httpx names them, so callers catch httpx's exceptions as with any transport.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout), (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout), (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException), (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError), (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError), (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError), (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for theirs, ours in _ERRORS:
            if isinstance(exc, theirs):
                raise ours(str(exc)) from exc
        raise


class _Body(httpx.SyncByteStream):
    def __init__(self, inner: Iterable[bytes], response: httpcore.Response) -> None:
        self._inner = inner
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._inner

    def close(self) -> None:
        self._response.close()


class DeadlineTransport(httpx.BaseTransport):
    """An httpx transport whose socket operations all end by ``deadline``: an httpcore connection pool
    on a network backend that gives each operation only what is left, through public APIs only."""

    def __init__(self, deadline: Deadline) -> None:
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(),
                                             network_backend=_Backend(httpcore.SyncBackend(), deadline))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        url = httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port,
                           target=request.url.raw_path)
        ask = httpcore.Request(method=request.method, url=url, headers=request.headers.raw,
                               content=request.stream, extensions=request.extensions)
        with _as_httpx_errors():
            answer = self._pool.handle_request(ask)
        assert isinstance(answer.stream, Iterable)
        return httpx.Response(status_code=answer.status, headers=answer.headers,
                              stream=_Body(answer.stream, answer), extensions=answer.extensions)

    def close(self) -> None:
        self._pool.close()


@dataclass
class Answer:
    """An answer as read within its limits: status, headers, and at most ``max_bytes`` of body."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    error: str | None = None  # why the answer is incomplete (too slow, too large, cut)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The parsed body; ValueError if it is not JSON or was cut."""
        if self.error:
            raise ValueError(self.error)
        return orjson.loads(self.content)


class AnswerError(Exception):
    """No answer at all: a connection error or the deadline before the headers."""


def fetch(client: httpx.Client, deadline: Deadline, method: str, url: str, *, timeout: float,
          max_bytes: int, **kwargs: Any) -> Answer:
    """One request, read within ``timeout`` (the whole answer) and ``max_bytes``."""
    deadline.at = time.monotonic() + timeout
    try:
        with client.stream(method, url, **kwargs) as response:
            declared = response.headers.get("content-length", "")
            if declared.strip().isdigit() and int(declared) > max_bytes:
                return Answer(response.status_code, response.headers, b"",
                              f"the answer declares {int(declared)} bytes, more than the cap of {max_bytes} "
                              "(--max-answer-bytes); not read")
            body = bytearray()
            error = None
            try:
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        del body[max_bytes:]
                        error = f"the answer is larger than the cap of {max_bytes} bytes (--max-answer-bytes); cut"
                        break
                    if time.monotonic() > deadline.at:
                        raise httpx.ReadTimeout("the whole-answer deadline passed")
            except httpx.TimeoutException:
                error = f"the whole answer took longer than {timeout:g} s (--timeout); cut after {len(body)} bytes"
            except (httpx.HTTPError, httpcore.ReadTimeout) as exc:
                error = f"the answer broke off after {len(body)} bytes ({type(exc).__name__})"
            return Answer(response.status_code, response.headers, bytes(body), error)
    except (httpx.TimeoutException, httpcore.ReadTimeout):
        raise AnswerError(f"timed out after {timeout:g} s (--timeout covers the whole answer)") from None
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, ValueError) as exc:
        raise AnswerError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from None
    finally:
        deadline.at = None
