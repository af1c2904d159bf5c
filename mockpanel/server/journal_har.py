"""``GET /_mock/journal.har``: the request journal as HAR 1.2, keys redacted.

The journal keeps each request's fields and answer; what HAR also wants (the method, path,
query, request headers, the answer's status and headers) ``WireFacts`` notes per request, keyed
by the journal's sequence number, with the key and every credential header redacted as it is
noted. Bounded like the journal (at most as many requests as it keeps).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.requests import Request as HttpRequest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..domain.accounts import redact
from ..har import HarExchange, har_log

if TYPE_CHECKING:  # pragma: no cover
    from .control import Control

SECRET_HEADERS = frozenset({b"authorization", b"proxy-authorization", b"x-api-key", b"api-key", b"cookie", b"x-mock-token"})
KEY_FIELDS = frozenset({"key", "api_key", "apikey", "api-key", "token", "api_token"})
Headers = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Wire:
    method: str
    url: str  # redacted query
    headers: Headers  # redacted
    status: int
    response_headers: Headers


class WireLog:
    def __init__(self, control: Control) -> None:
        self._control = control
        self._rows: OrderedDict[int, Wire] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, seq: int, wire: Wire) -> None:
        with self._lock:
            self._rows[seq] = wire
            while len(self._rows) > self._control.journal.limit:
                self._rows.popitem(last=False)

    def get(self, seq: int) -> Wire | None:
        return self._rows.get(seq)


_LOGS: weakref.WeakKeyDictionary[Any, WireLog] = weakref.WeakKeyDictionary()


def wire_log(control: Control) -> WireLog:
    log = _LOGS.get(control)
    if log is None:
        log = _LOGS[control] = WireLog(control)
    return log


def _text(raw: bytes) -> str:
    return raw.decode("latin-1")


def _redacted_query(query: bytes, key: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    shown = [(k, redact(v) if k.lower() in KEY_FIELDS and v else (v.replace(key, redact(key)) if key else v))
             for k, v in pairs]
    return "?" + urlencode(shown)


def _headers(raw: list[tuple[bytes, bytes]], key: str) -> Headers:
    out = []
    for name, value in raw:
        text = _text(value)
        if name.lower() in SECRET_HEADERS:
            text = redact(text)
        elif key and key in text:
            text = text.replace(key, redact(key))
        out.append((_text(name), text))
    return out


class WireFacts:
    """Wraps the API endpoint: notes each request's method, path, query and headers, and the
    answer's status and headers, for the HAR export."""

    def __init__(self, app: ASGIApp, control: Control) -> None:
        self.app = app
        self.log = wire_log(control)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer: list[Any] = [0, []]

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer[0], answer[1] = message["status"], message.get("headers", [])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            row = scope.get("mockpanel.entry")
            if row is not None:
                key = (scope.get("mockpanel.fields") or {}).get("key") or ""
                host = next((_text(v) for k, v in scope["headers"] if k == b"host"), "127.0.0.1")
                url = f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}{scope['path']}"
                self.log.put(row[0], Wire(scope["method"], url + _redacted_query(scope.get("query_string", b""), key),
                                          _headers(scope["headers"], key), answer[0], _headers(answer[1], key)))


def _body(params: dict[str, str], key: str, mime: str) -> str:
    fields = ({"key": key} if key else {}) | params
    if "json" in mime:
        return orjson.dumps(fields).decode()
    return urlencode(list(fields.items()))


def journal_har(c: Control, r: HttpRequest, b: Any) -> dict[str, Any]:
    """The journal as a HAR 1.2 document."""
    log = wire_log(c)
    out = []
    for e in c.journal_entries():
        wire = log.get(e.seq)
        method = wire.method if wire else "POST"
        headers = wire.headers if wire else []
        mime = next((v for k, v in headers if k.lower() == "content-type"), "application/x-www-form-urlencoded")
        get = method in ("GET", "HEAD")
        answer = "" if e.response is None else orjson.dumps(e.response).decode()
        out.append(HarExchange(
            started=e.wall, seconds=e.latency, method=method,
            url=wire.url if wire else str(r.base_url).rstrip("/") + c.dialect.endpoints[0],
            request_headers=headers, request_body=None if get else _body(dict(e.params), e.key, mime),
            request_mime=mime, status=(wire.status if wire else e.status) or (e.status or 0),
            response_headers=wire.response_headers if wire else [], response_body=answer,
            response_mime=next((v for k, v in (wire.response_headers if wire else []) if k.lower() == "content-type"),
                               c.dialect.content_type),
            comment=("" if wire else "method and headers not noted (a dropped request)")
            + (f"fault: {e.fault}" if e.fault else ""),
        ))
    return har_log(out, comment="mockpanel journal; keys redacted; request bodies are the fields the panel read, "
                                "answers the JSON it sent")
