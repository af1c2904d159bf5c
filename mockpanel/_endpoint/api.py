"""The panel endpoint (/api/v2): a raw ASGI app, the request path's hot loop.

It reads the fields, dispatches to the action handlers and writes JSON. Raw ASGI
rather than a Starlette view: ``request.form()`` alone costs more than all of the
panel's own work for ``balance`` (bench/README.md).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import orjson
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from .._asgi_body import BodyTooLarge as BodyTooLarge, ClientGone as ClientGone, read_body as read_body
from .._dialects.profile import Dialect
from .._panel.panel import Panel
from .._dialects.render import encode
from .actions import Answers
from .context import SCOPE_KEY, Call
from .family import Gate
from .params import clean_fields, json_fields, media_type, query_fields, urlencoded_fields

# Called for each API request once it is answered, before the answer is sent: (scope, fields, response payload, status, seconds).
Observer = Callable[[Scope, dict[str, str], Any, int, float], None]

MAX_BODY = 1 << 20  # 1 MiB: more than any real request; larger ones get 413


async def request_fields(scope: Scope, receive: Receive, limit: int = MAX_BODY) -> dict[str, str]:
    """Query fields overlaid with body fields, whatever the body's content type."""
    fields = query_fields(scope.get("query_string", b""))
    content_type = ""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLarge  # announced too large: answer at once, read nothing
    kind = media_type(content_type)
    if kind == "multipart/form-data":
        body = await read_body(receive, limit)
        fields.update(clean_fields(await _multipart_fields(scope, body)))  # a part's charset may yield surrogates
        return fields
    body = await read_body(receive, limit)
    if not body:
        return fields
    if kind.endswith("json") or (not kind and body[:1] in (b"{", b"[")):
        fields.update(json_fields(body))
    else:
        fields.update(urlencoded_fields(body))
    return fields


def replaying(body: bytes) -> Receive:
    """An ASGI ``receive`` that hands over ``body`` (already read) once, then a disconnect."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _multipart_fields(scope: Scope, body: bytes) -> dict[str, str]:
    try:
        form = await Request(scope, replaying(body)).form(max_files=10, max_fields=1000)
    except Exception:  # a malformed multipart body carries no usable fields
        return {}
    out: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            out[name] = value
    await form.close()
    return out


def json_bytes(payload: Any) -> bytes:
    return orjson.dumps(payload)


# An answer that is not JSON (a dialect that answers text/html, a fault's page, a recorded panel's error
# text) may hold markup a client or an upstream chose: opened in a browser, it must not run as the mock's
# origin, where a script could read /_mock/state. A sandboxed document has an opaque origin and runs no
# script; nosniff keeps a browser from reading it as another type (docs/http.md).
SANDBOX = [(b"content-security-policy", b"sandbox"), (b"x-content-type-options", b"nosniff")]
JSON_TYPE = b"application/json"


def is_json_type(content_type: bytes) -> bool:
    """``application/json`` or a ``+json`` type, parameters aside."""
    if content_type == JSON_TYPE:
        return True
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == JSON_TYPE or (media.startswith(b"application/") and media.endswith(b"+json"))


async def send_json(
    send: Send,
    status: int,
    body: bytes,
    head: bool = False,
    extra: list[tuple[bytes, bytes]] | None = None,
    content_type: bytes = b"application/json",
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
    ]
    if extra:
        headers.extend(extra)
    if not is_json_type(content_type):
        headers.extend(SANDBOX)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


class ApiEndpoint:
    """ASGI app answering the panel's actions for one panel and dialect."""

    def __init__(self, panel: Panel, dialect: Dialect, *, max_body: int = MAX_BODY) -> None:
        self.panel = panel
        self.dialect = dialect
        self.max_body = max_body
        self.observers: list[Observer] = []
        self.content_type = dialect.content_type.encode("latin-1")  # the answers' Content-Type
        self.json_answers = is_json_type(self.content_type)  # else each answer is sandboxed (SANDBOX)
        self.gate = Gate(dialect.family) if dialect.family.gated else None  # key headers, quota, HTTP codes
        self.answers = Answers(panel)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        head = scope.get("method") == "HEAD"
        # A middleware in front (powers.middleware.FaultMiddleware) may have read the fields already.
        call: Call | None = scope.get(SCOPE_KEY)
        if call is None:
            started = time.perf_counter()
            try:
                fields = await request_fields(scope, receive, self.max_body)
            except BodyTooLarge:
                body = json_bytes({"error": f"Request body too large (limit {self.max_body} bytes)"})
                await send_json(send, 413, body, head, [(b"connection", b"close")])
                return
            except ClientGone:
                return
            call = scope[SCOPE_KEY] = Call(fields, started)
        dialect = self.dialect
        fields, payload, extra = call.fields, None, None
        if self.gate is not None:  # a family's key headers and quota: a spent quota is a 429
            fields, payload, extra = self.gate.before(scope, fields)
        if payload is None:
            payload, body = answer(self.answers, dialect, fields)
            status = getattr(payload, "http_status", 200)  # a family answering errors with HTTP codes
        else:
            status, body = 429, encode(dialect, payload)
        if self.observers:  # before the answer leaves: a client that checks the journal at once finds its request
            call.body = body  # the answer as sent: the journal keeps these bytes, not the objects
            elapsed = time.perf_counter() - call.started
            for observer in self.observers:
                observer(scope, fields, payload, status, elapsed)
        await send_json(send, status, body, head, extra, content_type=self.content_type)


def answer(answers: Answers, dialect: Dialect, fields: dict[str, str]) -> tuple[Any, bytes]:
    """The answer to one API request and its JSON bytes (a module function: tests replace it)."""
    return answers.answer(dialect, fields)
