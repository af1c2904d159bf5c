"""The request journal: every API request a panel received, in the order they arrived.

A request enters the journal when it arrives (``arrive``) and its answer is filled in
when it is sent (``record``): a request still held by a latency fault shows at once as
``delayed``, one whose client gave up first as ``abandoned``. An entry holds the time
(virtual and wall), the action, the parameters, the answer, the HTTP status the client
saw, the latency and the fault injected, if any.

The API key is never shown: an entry carries only its redacted form (``key#1a2b3c4d``)
and its key id; a key pasted into another field, or echoed in an answer, is redacted there.
A request answered at once is kept as references (its fields as sent, the answer's bytes):
what it shows is worked out when the journal is read, not on the request path.

Bounded twice: at most ``limit`` entries and about ``max_bytes`` bytes (the oldest go
first); one entry keeps at most ``FIELD_BYTES`` of each field and ``ANSWER_BYTES`` of answer.
The checks on what clients sent live in journal_checks.py.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass
from itertools import count
from typing import Any, Callable, Mapping, MutableMapping

from ..domain.accounts import key_id, redact
from . import logs
from ..endpoint.context import SCOPE_KEY, Call
from .journal_checks import JournalChecks
from .journal_keep import ANSWER_BYTES, FIELD_BYTES, FIELDS_BYTES, Encoded, kept_answer, kept_fields, shown_answer
from ..endpoint.params import urlencoded_fields

__all__ = ["ANSWER_BYTES", "FIELD_BYTES", "FIELDS_BYTES", "JOURNAL_BYTES", "JOURNAL_LIMIT", "Journal", "Request"]

Now = Callable[[], float]
_ID_FIELDS = ("order", "orders", "refill", "refills")

JOURNAL_LIMIT = 10_000  # entries
JOURNAL_BYTES = 32 << 20  # about 32 MiB of fields and answers
_ROW_OVERHEAD = 400  # a row's tuple, floats, dict and strings, roughly

# The states of an entry (Request.state).
ARRIVED, DELAYED, ABANDONED, ANSWERED = "arrived", "delayed", "abandoned", "answered"


@dataclass(frozen=True, slots=True)
class Request:
    """One API request as the panel saw it, with the key redacted."""

    seq: int
    at: float  # virtual time (the panel's clock) at arrival
    wall: float  # real time (time.time()) at arrival
    action: str
    params: Mapping[str, str]  # every field but the key
    key: str  # redacted, e.g. "key#1a2b3c4d"; "" when no key was sent
    key_id: str
    status: int | None  # the HTTP status the client saw; None: dropped, or not answered yet
    response: Any  # the panel's answer (JSON value); None when the panel never handled it
    latency: float  # seconds inside the server
    fault: str | None = None  # the injected fault's kind
    state: str = ANSWERED  # arrived (being handled), delayed (latency fault), abandoned, answered

    def __getitem__(self, name: str) -> str:
        return self.params[name]

    def get(self, name: str, default: Any = None) -> Any:
        """A field the client sent, or ``default``."""
        return self.params.get(name, default)

    @property
    def answered(self) -> bool:
        """True once the answer was sent (False while it is still delayed, or if the client gave up)."""
        return self.state == ANSWERED

    @property
    def order(self) -> int | None:
        """The id of the order an ``add`` placed, when it placed one."""
        if self.action != "add" or not isinstance(self.response, dict):
            return None
        value = self.response.get("order")
        try:
            return int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None

    @property
    def ids(self) -> list[int]:
        """The order or refill ids this request asked about (``order``/``orders``/...)."""
        out: list[int] = []
        for name in _ID_FIELDS:
            for token in self.params.get(name, "").split(","):
                token = token.strip()
                if token.isascii() and token.isdigit():  # "²" and "٣" are digits to str.isdigit
                    out.append(int(token))
        return out

    def to_json(self) -> dict[str, Any]:
        """The request as the control API's journal shows it (the key redacted)."""
        return {
            "seq": self.seq,
            "at": self.at,
            "wall": self.wall,
            "action": self.action,
            "params": dict(self.params),
            "key": self.key,
            "status": self.status,
            "response": self.response,
            "latency": self.latency,
            "fault": self.fault,
            "state": self.state,
        }

    def outcome(self) -> str:
        """What the client got, in words: "HTTP 200", "dropped", "delayed (not answered yet)"..."""
        if self.state == DELAYED:
            return "delayed (not answered yet)"
        if self.state == ARRIVED:
            return "not answered yet"
        if self.state == ABANDONED:
            if self.status is None and self.response is None:
                return "abandoned by the client (no answer yet)"
            return f"abandoned by the client ({'dropped' if self.status is None else f'HTTP {self.status}'} too late)"
        return "dropped" if self.status is None else f"HTTP {self.status}"

    def describe(self) -> str:
        """One line for a failure message: the action, its fields and the answer."""
        parts = [f"#{self.seq}", self.action or "(no action)"]
        parts += [f"{k}={v!r}" for k, v in self.params.items() if k != "action"]
        parts.append(f"-> {self.outcome()}")
        if self.response is not None:
            parts.append(_short(self.response))
        if self.fault:
            parts.append(f"[fault: {self.fault}]")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"<Request {self.describe()}>"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# A row: [seq, at, wall, params, kid, status, payload, latency, fault, state, size, wire]. A
# request answered at once (no fault, nothing awaited between arrival and answer) is one tuple
# of references instead: in the params and kid slots, the request's form body as sent (kid
# None), or its field names and values (with the key); the answer's bytes as payload;
# entries() works out what it shows. Tuples of atoms and bytes: the garbage collector stops
# tracking them. ``wire`` is the request's wire facts for the HAR (``Journal._wire``).
_STATUS, _PAYLOAD, _LATENCY, _FAULT, _STATE, _SIZE, _WIRE = 5, 6, 7, 8, 9, 10, 11

# What the HAR wants of a request beside its fields: (method, scheme, root, path, query,
# headers, key), the scope's own values (the headers as a tuple); redacted only when read.
WireFacts = tuple[str, str, str, str, bytes, Any, str]


_WIRES_MAX = 1024  # distinct wire facts a journal keeps once (shared by their rows)


def _head_size(facts: WireFacts) -> int:
    """About the bytes of the request head the facts hold (what the HTTP layer bounds)."""
    try:
        return len(facts[3]) + len(facts[4]) + sum(len(name) + len(value) + 4 for name, value in facts[5])
    except TypeError:
        return 0


class Journal(JournalChecks["Request"]):
    """The requests one panel received, oldest first: at most ``limit`` of them and about
    ``max_bytes`` bytes."""

    def __init__(self, now: Now, limit: int = JOURNAL_LIMIT, max_bytes: int = JOURNAL_BYTES) -> None:
        self._now = now
        self._entries: deque[Any] = deque()
        self._seq = count(1)
        self._lock = threading.Lock()
        self._bytes = 0
        self.limit = limit
        self.max_bytes = max_bytes
        self._wires: dict[WireFacts, WireFacts] = {}
        self._last_wire: WireFacts | None = None

    def _wire(self, scope: Mapping[str, Any], key: str) -> tuple[WireFacts, int]:
        """The request's wire facts, by reference (no copies, no scans on the request path), and the
        bytes they add to the journal: the request head's size when they are new, 0 when a row
        already has the same. A client sends the same headers again and again: those facts are kept
        once, shared by their rows, so a journalled request leaves one new object behind for the
        garbage collector, its row; a head unlike any other (up to the HTTP layer's 32 KiB) counts
        against the journal's byte bound in full."""
        facts = (scope.get("method", "POST"), scope.get("scheme", "http"), scope.get("root_path", ""),
                 scope.get("path", ""), scope.get("query_string", b""), tuple(scope.get("headers", ())), key)
        last = self._last_wire
        if facts == last:  # the same client again: a comparison is cheaper than a hash
            return last, 0
        wires = self._wires
        try:
            kept = wires.get(facts)
        except TypeError:  # a header that is not bytes (an ASGI app called by hand): kept as it is
            return facts, _head_size(facts)
        if kept is not None:
            self._last_wire = kept
            return kept, 0
        if len(wires) >= _WIRES_MAX:
            wires.clear()
        wires[facts] = self._last_wire = facts
        return facts, _head_size(facts)

    def set_limits(self, limit: int | None = None, max_bytes: int | None = None) -> None:
        """Change the bounds (entries, bytes); the oldest entries go at once if over."""
        for name, value in (("limit", limit), ("max_bytes", max_bytes)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"the journal's {name} is a whole number >= 1, got {value!r}")
        with self._lock:
            self.limit = self.limit if limit is None else limit
            self.max_bytes = self.max_bytes if max_bytes is None else max_bytes
            self._trim()

    @property
    def nbytes(self) -> int:
        """About how many bytes the entries' fields and answers take."""
        return self._bytes

    # --- recording --------------------------------------------------------------------

    def arrive(self, scope: MutableMapping[str, Any], fields: dict[str, str]) -> None:
        """A request has arrived (its fields read): it enters the journal now, unanswered."""
        key = fields.get("key") or ""
        params, size = kept_fields(key, fields)
        wire, head = self._wire(scope, key)
        size += _ROW_OVERHEAD + head
        row = [next(self._seq), self._now(), time.time(), params, key_id(key) if key else "", None, None, 0.0,
               None, ARRIVED, size, wire]
        call = scope.get(SCOPE_KEY)
        if call is None:
            call = scope[SCOPE_KEY] = Call(fields, time.perf_counter())
        call.entry, call.seq = row, row[0]
        with self._lock:
            self._entries.append(row)
            self._bytes += size
            if len(self._entries) > self.limit or self._bytes > self.max_bytes:
                self._trim()

    async def hold(self, scope: Mapping[str, Any], receive: Any, seconds: float) -> None:
        """Wait ``seconds`` (a latency fault), the entry marked delayed; a client that
        disconnects meanwhile marks it abandoned (the panel still acts, as a real one does)."""
        call = scope.get(SCOPE_KEY)
        row = call.entry if call is not None else None
        if row is not None:
            row[_STATE] = DELAYED
        begun = time.perf_counter()
        gone = asyncio.ensure_future(_disconnect(receive))
        try:
            done, _ = await asyncio.wait({gone}, timeout=seconds)
            if gone in done and gone.result():
                if row is not None:
                    row[_STATE] = ABANDONED
                logs.abandoned(row[0] if row is not None else 0, seconds)
                rest = seconds - (time.perf_counter() - begun)
                if rest > 0:
                    await asyncio.sleep(rest)
        finally:
            gone.cancel()

    def record(self, scope: Mapping[str, Any], fields: Mapping[str, str], payload: Any, status: int, seconds: float) -> None:
        """A request has been answered (an ApiEndpoint observer, called before the answer leaves)."""
        call: Call | None = scope.get(SCOPE_KEY)
        row: list[Any] | None = None
        fault: str | None = None
        body: bytes | None = None
        if call is not None:
            seconds = time.perf_counter() - call.started
            row, body = call.entry, call.body
            if call.fault is not None:
                status, fault, body = call.fault.client_status, call.fault.kind, None  # type: ignore[assignment]
        if fault is None and row is None:
            seq = self.record_answered(fields, payload, body, status, seconds, scope)
            if seq is not None:
                if call is not None:
                    call.seq = seq
                return
        key = fields.get("key") or ""
        kept, size = kept_answer(key, payload, body)
        with self._lock:
            if row is None:  # no arrival was noted (an endpoint without the fault middleware)
                params, fsize = kept_fields(key, fields)
                wire, head = self._wire(scope, key)
                row = [next(self._seq), self._now(), time.time(), params, key_id(key) if key else "", None, None,
                       0.0, None, ARRIVED, _ROW_OVERHEAD + fsize + head, wire]
                self._entries.append(row)
                self._bytes += row[_SIZE]
                if call is not None:
                    call.seq = row[0]
            row[_STATUS], row[_PAYLOAD], row[_LATENCY], row[_FAULT] = status, kept, seconds, fault
            if row[_STATE] != ABANDONED:
                row[_STATE] = ANSWERED
            row[_SIZE] += size
            self._bytes += size
            if len(self._entries) > self.limit or self._bytes > self.max_bytes:
                self._trim()
        if logs.LOG.isEnabledFor(logs.INFO):
            logs.request(row[0], row[3], row[4], status, seconds, fault, row[_STATE], kept)

    def record_answered(self, fields: Mapping[str, str], payload: Any, body: bytes | None, status: int,
                        seconds: float, scope: Mapping[str, Any]) -> int | None:
        """Record an answered request (that arrived unnoted) as a row of references, and return its
        number; None when it needs a kept row, which ``record`` makes (a field or answer past its
        bound, an answer without bytes, logging on)."""
        size = len("\0".join(fields)) + len("\0".join(fields.values()))
        if size > FIELD_BYTES or (body is None and payload is not None) or logs.LOG.isEnabledFor(logs.INFO):
            return None
        if body is not None:
            if len(body) > ANSWER_BYTES:
                return None
            # Counted in full even when the bytes are a cached answer shared by many rows:
            # the cache may drop them, and then these rows alone hold them.
            size += len(body)
        wire, head = self._wire(scope, fields.get("key") or "")
        return self._append(tuple(fields), tuple(fields.values()), status, body, seconds, size + head, wire)

    def record_form(self, form: bytes, body: bytes, status: int, seconds: float, scope: Mapping[str, Any],
                    key: str) -> int | None:
        """``record_answered`` for a urlencoded body answered at once (server/hotpath.py): the row
        keeps the body's bytes as sent, and its fields are read from them again when shown."""
        if len(form) > FIELD_BYTES or len(body) > ANSWER_BYTES or logs.LOG.isEnabledFor(logs.INFO):
            return None  # every field fits its bound when the whole body does
        wire, head = self._wire(scope, key)
        return self._append(form, None, status, body, seconds, len(form) + len(body) + head, wire)

    def _append(self, params: Any, values: Any, status: int, body: bytes | None, seconds: float, size: int,
                wire: WireFacts) -> int:
        size += _ROW_OVERHEAD
        lock = self._lock
        lock.acquire()  # not ``with``: this is the request path, and it costs twice as much
        try:
            seq = next(self._seq)
            entries = self._entries
            entries.append((seq, self._now(), time.time(), params, values, status, body, seconds, None, ANSWERED,
                            size, wire))
            self._bytes += size
            if len(entries) > self.limit or self._bytes > self.max_bytes:
                self._trim()
        finally:
            lock.release()
        return seq

    def _trim(self) -> None:
        entries = self._entries
        while entries and (len(entries) > self.limit or self._bytes > self.max_bytes):
            self._bytes -= entries.popleft()[_SIZE]

    # --- reading --------------------------------------------------------------------

    def entries(self, action: str | None = None, key: str | None = None, limit: int | None = None) -> list[Request]:
        """Requests in arrival order; ``key`` may be the key, its redacted form or its key id."""
        with self._lock:
            rows = [tuple(r) for r in self._entries]
        ids: dict[str, str] = {}  # key -> key id, for this call: a journal holds few keys
        out = []
        for seq, at, wall, params, kid, status, payload, latency, fault, state, _, _ in rows:
            if kid.__class__ is not str:  # a row of references: what it shows is worked out now
                fields = urlencoded_fields(params) if kid is None else dict(zip(params, kid))
                sent = fields.get("key") or ""
                params = kept_fields(sent, fields)[0]
                payload = shown_answer(sent, payload)
                kid = ids.get(sent)
                if kid is None:
                    kid = ids[sent] = key_id(sent) if sent else ""
            out.append(Request(seq, at, wall, params.get("action", "").strip(), params,
                               f"key#{kid[:8]}" if kid else "", kid, status,
                               payload.decode() if type(payload) is Encoded else payload, latency, fault, state))
        if action is not None:
            out = [e for e in out if e.action == action]
        if key is not None:
            wanted = {key, key_id(key), redact(key)}
            out = [e for e in out if e.key_id in wanted or e.key in wanted]
        if limit is not None:
            out = out[-limit:] if limit > 0 else []
        return out

    def wire_facts(self) -> dict[int, WireFacts]:
        """seq -> the wire facts of each request kept (as sent: redact before showing)."""
        with self._lock:
            return {row[0]: row[_WIRE] for row in self._entries}

    def report(self, limit: int = 50) -> str:
        """The newest ``limit`` requests and answers, one a line (pytest shows this for a failed test)."""
        entries = self.entries()
        lines = [f"... {len(entries) - limit} earlier request(s) not shown" ] if len(entries) > limit else []
        for e in entries[-limit:]:
            time_ = f"t={e.at - entries[0].at:+.1f}s" if entries else ""
            answer = "" if e.response is None else " " + _short(e.response, 400)
            shown = " ".join([f"#{e.seq}", time_, e.action or "(no action)", e.key or "(no key)"]
                             + [f"{k}={v!r}" for k, v in e.params.items() if k != "action"])
            fault = f" [fault: {e.fault}]" if e.fault else ""
            lines.append(f"{shown} -> {e.outcome()}{answer}{fault}")
        return "\n".join(lines) if lines else "(no API requests)"

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Any:
        return iter(self.entries())

    def clear(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self._wires.clear()
            self._last_wire = None


async def _disconnect(receive: Any) -> bool:
    """True once the client has gone (the body was read already: only a disconnect can come)."""
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            return True
        await asyncio.sleep(0.01)  # a server that repeats empty body messages must not spin
