"""``GET /_mock/journal.har``: the request journal as HAR 1.2, keys redacted.

The journal keeps each request's fields, answer and status, and what HAR also wants (the method,
path, query and request headers) in the same row, by reference (``Journal._wire``); the key
and every credential header are redacted when the HAR is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.requests import Request as HttpRequest
from starlette.responses import StreamingResponse

from conformance.redaction import KEY_FIELDS

from .._domain.accounts import redact
from .._har import HarExchange, har_stream
from .._panel.scrub import scrubber
from .journal import WireFacts

if TYPE_CHECKING:  # pragma: no cover
    from .control import Control

SECRET_HEADERS = frozenset({b"authorization", b"proxy-authorization", b"x-api-key", b"api-key", b"cookie", b"x-mock-token"})
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
        # An ASGI path holds the root path (a hub's /p/<id>); one called by hand may not.
        path = self.path if self.path.startswith(self.root) else self.root + self.path
        return f"{self.scheme}://{host}{path}" + (f"?{query}" if query else "")


def shown_wire(facts: WireFacts) -> Wire:
    """A request's wire facts as the HAR shows them: the key and every credential header redacted."""
    method, scheme, root, path, query, headers, sent = facts
    key = sent.encode("utf-8", errors="replace")
    headers = list(headers)
    for name, value in headers:
        if name.lower() in SECRET_HEADERS or (key and key in value):
            headers = _redacted_headers(headers, key)
            break
    if query and (key in query or b"key" in query.lower() or b"token" in query.lower()):
        query = _redacted_query(query, sent)
    return Wire(method, scheme, root, path, query, headers)


def _redacted_query(query: bytes, key: str) -> bytes:
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    shown = [(k, redact(v) if k.lower() in KEY_FIELDS and v else (v.replace(key, redact(key)) if key else v))
             for k, v in pairs]
    return urlencode(shown).encode("latin-1", errors="replace")


def _redacted_headers(raw: RawHeaders, key: bytes) -> RawHeaders:
    shown = redact(key.decode("utf-8", errors="replace")).encode() if key else b""
    return [(name, redact(value.decode("latin-1")).encode() if name.lower() in SECRET_HEADERS else
             (value.replace(key, shown) if key else value)) for name, value in raw]


def _text(raw: RawHeaders) -> Headers:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]


def _body(params: dict[str, str], key: str, mime: str) -> str:
    fields = ({"key": key} if key else {}) | params
    if "json" in mime:
        return orjson.dumps(fields).decode()
    return urlencode(list(fields.items()))


def journal_har(c: Control, r: HttpRequest, b: Any) -> StreamingResponse:
    """The journal as a HAR 1.2 document, sent as it is made: one entry in memory at a time beside the
    journal itself (whose bound counts what its rows hold)."""
    exchanges = _exchanges(c, c.journal.wire_facts(), c.journal_entries(), r.headers.get("host", "127.0.0.1"),
                           str(r.base_url).rstrip("/"))
    chunks = har_stream(exchanges, comment="mockpanel journal; keys redacted; a request body is the fields the "
                                           "panel read, an answer the JSON it sent with its content type and length")
    return StreamingResponse(chunks, media_type="application/json")


def _exchanges(c: Control, noted: dict[int, WireFacts], entries: list[Any], host: str, base: str) -> Iterator[HarExchange]:
    hide = scrubber(c.panel).text  # any key of the panel a client pasted into a field (its own key is redacted already)
    for e in entries:
        facts = noted.get(e.seq)
        wire = shown_wire(facts) if facts is not None else None
        method = wire.method if wire else "POST"
        headers = [(k, hide(v)) for k, v in _text(wire.headers)] if wire else []
        answer = "" if e.response is None else hide(orjson.dumps(e.response).decode())
        answer_headers = [("content-type", c.dialect.content_type), ("content-length", str(len(answer.encode())))]
        mime = next((v for k, v in headers if k.lower() == "content-type"), "application/x-www-form-urlencoded")
        get = method in ("GET", "HEAD")
        yield HarExchange(
            started=e.wall, seconds=e.latency, method=method,
            url=hide(wire.url(host)) if wire else base + c.dialect.endpoints[0],
            request_headers=headers, request_body=None if get else hide(_body(dict(e.params), e.key, mime)),
            request_mime=mime, status=e.status or 0,
            response_headers=answer_headers if e.response is not None else [], response_body=answer,
            response_mime=c.dialect.content_type,
            comment=("" if wire else "method and headers not noted")
            + (f"fault: {e.fault}" if e.fault else ""),
        )
