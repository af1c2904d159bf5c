"""The common API request, answered in one step.

Most requests a panel gets are urlencoded form posts with no fault set and no trigger word in
them: a client polling statuses, a sync loop, a load test. ``HotPath`` answers those in one
coroutine (read the body, parse it, answer from the cached answers, journal, send), with none of
the layers a fault or a trigger needs. Anything else, or anything it cannot be sure of, goes the
general way (``general``: the wire facts, the fault middleware, the endpoint), with the body it
has read handed over, so both ways give the same answer and the same journal.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._panel.panel import OrderBookFull
from .._persistence.errors import StateUnavailable
from .._endpoint import api as endpoint_module
from .._endpoint.api import ApiEndpoint, json_bytes, send_json
from .._endpoint.context import SCOPE_KEY, Call
from .._powers.faults import ConnectionDropped
from .._endpoint.params import is_form, urlencoded_fields

if TYPE_CHECKING:  # pragma: no cover
    from .._powers.control import Control

INTERNAL_ERROR = b'{"error":"Internal error"}'
BOOK_FULL = 507  # Insufficient Storage (RFC 4918): the mock's own bound, not the panel's answer
JSON = b"application/json"
PARSED_MAX = 4096  # bodies whose fields are kept (a client polls with the same few bodies); then starts over
PARSED_BODY = 2048  # longest body kept


# The changes the mock's own bounds refuse (none was made), and their statuses: the state file refused
# it; the order book is at its bound. Both HTTP ways answer them from this table (app.py: REFUSALS).
REFUSED: dict[type[Exception], int] = {StateUnavailable: 503, OrderBookFull: BOOK_FULL}
REFUSALS = tuple(REFUSED)


def failure(exc: Exception) -> tuple[int, bytes]:
    """What an unexpected exception answers: a refusal's status (``REFUSED``) with its words, else a
    JSON 500 (what Starlette's error middleware does)."""
    for kind, status in REFUSED.items():
        if isinstance(exc, kind):
            return status, json_bytes({"error": str(exc)})
    return 500, INTERNAL_ERROR


class HotPath:
    """The API endpoint's entry with the control side on: the common request in one step."""

    def __init__(self, api: ApiEndpoint, general: ASGIApp, control: Control) -> None:
        self.api = api
        self.general = general
        self.control = control
        self.journal = control.journal
        self.observers = list(api.observers)  # the journal's: any other observer takes the general way
        self._parsed: dict[bytes, dict[str, str]] = {}  # body as sent -> its fields

    def takes(self, scope: Scope) -> bool:
        """Whether the request is one this path answers, by its head: a urlencoded POST of a
        length within bounds, no query string (``takes_head`` on its headers)."""
        if scope["method"] != "POST" or scope.get("query_string"):
            return False
        content_type: bytes | None = None
        length = 0
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                if not value.isdigit():
                    return False
                length = max(length, int(value))
        return self.takes_head(content_type, length)

    def takes_head(self, content_type: bytes | None, length: int) -> bool:
        """Whether a POST without a query string, of this Content-Type and Content-Length, is one this
        path answers: a urlencoded form within bounds, no fault set, no family gate, no other observer,
        to a dialect that answers JSON (other answers carry the sandbox's headers: send_json). The HTTP
        layer (_server/protocol.py) asks it with what its one pass over the headers found; ``takes`` the
        ASGI way."""
        api = self.api
        return (content_type is not None and length <= api.max_body and not self.control.faults
                and api.gate is None and api.observers == self.observers and api.json_answers
                and is_form(content_type))

    def answer(self, scope: Scope, body: bytes) -> tuple[int, bytes, bytes] | None:
        """The answer to a request ``takes`` took, with its whole body: its status, Content-Type
        and bytes, journalled; or None when it must go the general way (a trigger word may be in
        it), with nothing done."""
        api = self.api
        if len(body) > api.max_body:
            return None
        started = time.perf_counter()
        # A body with a link is never kept (below): an add does not hash its body for nothing. (``find``,
        # not ``in``: CPython 3.11's ``bytes in bytes`` first tries the needle as an int, and raises and
        # clears a TypeError: ~1,800 instructions.)
        kept = None if body.find(b"link=") >= 0 else self._parsed.get(body)
        if kept is not None:
            fields = dict(kept)  # the request's own: nothing it does reaches the kept fields
        else:
            fields = urlencoded_fields(body)
            # An add's body comes once (its link is new each time: the same one again is refused), a
            # poll's again and again: only a body without a link is kept.
            if len(body) <= PARSED_BODY and "link" not in fields:
                if len(self._parsed) >= PARSED_MAX:
                    self._parsed.clear()
                self._parsed[body] = dict(fields)
        link = fields.get("link")
        if link is not None and "mockpanel" in link.lower():  # a trigger word may be in it
            return None
        journal = self.journal
        try:
            payload, answer = endpoint_module.answer(api.answers, api.dialect, fields)
            status = getattr(payload, "http_status", 200)  # a family answering errors with HTTP codes
            seconds = time.perf_counter() - started
            # Journalled before the answer leaves: a client that checks the journal at once finds it.
            if journal.record_form(body, answer, status, seconds, scope, fields.get("key") or "") is None:
                # a row the journal keeps in its own form (a long field, logging on)
                scope[SCOPE_KEY] = Call(fields, started, body=answer)
                journal.record(scope, fields, payload, status, seconds)
        except Exception as exc:
            journal.arrive(scope, fields)  # in the journal, unanswered
            status, text = failure(exc)
            return status, JSON, text
        return status, api.content_type, answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.takes(scope):
            await guarded(self.general, scope, receive, send)
            return
        message = await receive()
        if message["type"] != "http.request" or message.get("more_body", False):
            await guarded(self.general, scope, _again(message, receive), send)
            return
        answered = self.answer(scope, message.get("body", b""))
        if answered is None:
            await guarded(self.general, scope, _again(message, receive), send)
            return
        status, content_type, answer = answered
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type), (b"content-length", b"%d" % len(answer))]})
        await send({"type": "http.response.body", "body": answer})


def _again(first: Message, receive: Receive) -> Receive:
    """A ``receive`` that hands over the message already read, then the server's own."""
    pending: list[Message] = [first]

    async def again() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return again


async def guarded(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run ``app``; should it ever raise before it answered, answer ``failure``'s JSON."""
    started = False

    async def watched(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    try:
        await app(scope, receive, watched)
    except ConnectionDropped:
        raise  # the in-process "drop" fault: the client must see a dropped connection, not a 500
    except Exception as exc:
        if started:
            raise
        await send_json(send, *failure(exc))


def entry_point(api: ApiEndpoint, control: Control | None, general: ASGIApp) -> ASGIApp:
    """What MockApp calls for the API's paths: the hot path with the control side on, else the endpoint."""
    return general if control is None else HotPath(api, general, control)
