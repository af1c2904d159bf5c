"""``GET /_mock/journal.har``: the request journal as HAR 1.2, keys redacted.

The journal keeps each request's fields, answer and status; what HAR also wants (the method, path,
query and request headers) is noted per request (``WireLog.note``), keyed by the journal's
sequence number, by reference; the key and every credential header are redacted when the HAR
is read. Bounded like the journal (at most as many requests as it keeps).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.requests import Request as HttpRequest
from starlette.types import ASGIApp, Receive, Scope, Send

from ..domain.accounts import redact
from ..har import HarExchange, har_log
from .context import call_of

if TYPE_CHECKING:  # pragma: no cover
    from .control import Control

SECRET_HEADERS = frozenset({b"authorization", b"proxy-authorization", b"x-api-key", b"api-key", b"cookie", b"x-mock-token"})
KEY_FIELDS = frozenset({"key", "api_key", "apikey", "api-key", "token", "api_token"})
Headers = list[tuple[str, str]]


RawHeaders = list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class Wire:
    method: str
    scheme: str
    root: str
    path: str
    query: bytes  # as sent when it holds no key; else redacted
    headers: RawHeaders  # as sent when they hold no credential; else a redacted copy

    def url(self, host: str) -> str:
        host = next((v.decode("latin-1") for k, v in self.headers if k == b"host"), host)
        query = self.query.decode("latin-1")
        return f"{self.scheme}://{host}{self.root}{self.path}" + (f"?{query}" if query else "")


# What is noted of a request as it is answered: (method, scheme, root, path, query, headers, key),
# the scope's values (the headers as a tuple: the collector stops tracking it); redacted only when
# read (``WireLog.get``).
WireFactsRow = tuple[str, str, str, str, bytes, Any, str]


class WireLog:
    """seq -> the wire facts of that request, insertion-ordered, at most as many as the journal keeps."""

    def __init__(self, control: Control) -> None:
        self._control = control
        self._rows: OrderedDict[int, WireFactsRow] = OrderedDict()  # popitem(last=False) is O(1)

    def note(self, seq: int, scope: Scope, fields: dict[str, str]) -> None:
        """Note a request's method, path, query and headers (on the request path: no copies, no scans)."""
        rows = self._rows
        rows[seq] = (scope["method"], scope.get("scheme", "http"), scope.get("root_path", ""), scope["path"],
                     scope.get("query_string", b""), tuple(scope["headers"]), fields.get("key") or "")
        if len(rows) > self._control.journal.limit:
            rows.popitem(last=False)

    def get(self, seq: int) -> Wire | None:
        """The request's facts, with the key and every credential header redacted."""
        row = self._rows.get(seq)
        if row is None:
            return None
        method, scheme, root, path, query, headers, sent = row
        key = sent.encode("utf-8", errors="replace")
        headers = list(headers)
        for name, value in headers:
            if name.lower() in SECRET_HEADERS or (key and key in value):
                headers = _redacted_headers(headers, key)
                break
        if query and (key in query or b"key" in query.lower() or b"token" in query.lower()):
            query = _redacted_query(query, sent)
        return Wire(method, scheme, root, path, query, headers)


_LOGS: weakref.WeakKeyDictionary[Any, WireLog] = weakref.WeakKeyDictionary()


def wire_log(control: Control) -> WireLog:
    log = _LOGS.get(control)
    if log is None:
        log = _LOGS[control] = WireLog(control)
    return log


def _redacted_query(query: bytes, key: str) -> bytes:
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    shown = [(k, redact(v) if k.lower() in KEY_FIELDS and v else (v.replace(key, redact(key)) if key else v))
             for k, v in pairs]
    return urlencode(shown).encode("latin-1", errors="replace")


def _redacted_headers(raw: RawHeaders, key: bytes) -> RawHeaders:
    shown = redact(key.decode("utf-8", errors="replace")).encode() if key else b""
    return [(name, redact(value.decode("latin-1")).encode() if name.lower() in SECRET_HEADERS else
             (value.replace(key, shown) if key else value)) for name, value in raw]


class WireFacts:
    """Wraps the API endpoint (the path of a request with a fault or a trigger word; the common
    request is noted by server/hotpath.py): notes each request's method, path, query and
    headers for the HAR export, by reference; redaction happens when the HAR is read."""

    def __init__(self, app: ASGIApp, control: Control) -> None:
        self.app = app
        self.log = wire_log(control)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            call = call_of(scope)  # the request's fields and journal row (server/context.py)
            if call is not None and call.seq is not None:
                self.log.note(call.seq, scope, call.fields)


def _text(raw: RawHeaders) -> Headers:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]


def _body(params: dict[str, str], key: str, mime: str) -> str:
    fields = ({"key": key} if key else {}) | params
    if "json" in mime:
        return orjson.dumps(fields).decode()
    return urlencode(list(fields.items()))


def journal_har(c: Control, r: HttpRequest, b: Any) -> dict[str, Any]:
    """The journal as a HAR 1.2 document."""
    log = wire_log(c)
    host = r.headers.get("host", "127.0.0.1")  # for a request that sent no Host
    base = str(r.base_url).rstrip("/")
    out = []
    for e in c.journal_entries():
        wire = log.get(e.seq)
        method = wire.method if wire else "POST"
        headers = _text(wire.headers) if wire else []
        answer = "" if e.response is None else orjson.dumps(e.response).decode()
        answer_headers = [("content-type", c.dialect.content_type), ("content-length", str(len(answer.encode())))]
        mime = next((v for k, v in headers if k.lower() == "content-type"), "application/x-www-form-urlencoded")
        get = method in ("GET", "HEAD")
        out.append(HarExchange(
            started=e.wall, seconds=e.latency, method=method,
            url=wire.url(host) if wire else base + c.dialect.endpoints[0],
            request_headers=headers, request_body=None if get else _body(dict(e.params), e.key, mime),
            request_mime=mime, status=e.status or 0,
            response_headers=answer_headers if e.response is not None else [], response_body=answer,
            response_mime=c.dialect.content_type,
            comment=("" if wire else "method and headers not noted (a dropped request)")
            + (f"fault: {e.fault}" if e.fault else ""),
        ))
    return har_log(out, comment="mockpanel journal; keys redacted; a request body is the fields the "
                                "panel read, an answer the JSON it sent with its content type and length")
