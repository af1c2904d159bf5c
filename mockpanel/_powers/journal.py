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
An entry keeps every field but the key, the key redacted wherever else it appears (field
names, values, the answer), each part bounded. The journal's checks answer the questions a
client developer asks of a money API with no idempotency: did my client send this? Did it
place the same order twice? Does it poll too fast? Each failing check raises AssertionError
with a message that shows what was expected and what the panel received.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import count
from typing import Any, Callable, Generic, Mapping, MutableMapping, Protocol, TypeVar

import orjson

from .._dialects.parse import parse_id
from .._domain.accounts import key_id, redact
from .._endpoint.context import Call, SCOPE_KEY
from .._endpoint.params import urlencoded_fields
from . import logs


FIELD_BYTES = 16 << 10  # of one field's value; the rest is cut
FIELDS_BYTES = 64 << 10  # of all the fields of one request; further fields are left out
ANSWER_BYTES = 1 << 20  # of one answer; a longer one is replaced by a note


def kept_fields(key: str, fields: Mapping[str, str]) -> tuple[dict[str, str], int]:
    """The fields an entry keeps, and their size: all but the key, the key redacted anywhere
    else, each bounded."""
    params = {k: v for k, v in fields.items() if k != "key"}
    # One C-level join and search for the common case: small fields, no key pasted anywhere.
    joined = "\0".join(params) + "\0" + "\0".join(params.values())
    if len(joined) <= FIELD_BYTES and not (key and key in joined):
        return params, len(joined) + FIELD_OBJECTS * len(params)
    shown = redact(key) if key else ""
    out: dict[str, str] = {}
    total = 0
    for name, value in params.items():
        if key and key in name:
            name = name.replace(key, shown)
        if key and key in value:
            value = value.replace(key, shown)
        if len(value) > FIELD_BYTES:
            value = f"{value[:FIELD_BYTES]}... ({len(value)} characters, {FIELD_BYTES} kept)"
        total += len(name) + len(value)
        if total > FIELDS_BYTES:
            out["..."] = f"{len(params) - len(out)} more field(s) not kept (journal limit {FIELDS_BYTES} bytes)"
            break
        out[name] = value
    return out, total + FIELD_OBJECTS * len(out)


def _scrub_answer(key: str, value: Any) -> Any:
    """An answer that echoes the key (or holds it in a string) shows it redacted."""
    if isinstance(value, str):
        return value.replace(key, redact(key)) if key in value else value
    if isinstance(value, dict):
        return {_scrub_answer(key, k): _scrub_answer(key, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_answer(key, v) for v in value]
    return value


class Encoded(bytes):
    """An answer kept as the JSON bytes that were sent."""

    def decode(self) -> Any:  # type: ignore[override]
        return json.loads(bytes(self))


def kept_answer(key: str, payload: Any, body: bytes | None) -> tuple[Any, int]:
    """What an entry keeps of an answer, and its size in bytes."""
    if body is not None:
        if key and any(form in body for form in _forms(key)):
            body = orjson.dumps(_scrub_answer(key, json.loads(body)))
        if len(body) > ANSWER_BYTES:
            return {"journal": f"an answer of {len(body)} bytes, not kept (limit {ANSWER_BYTES})"}, 100
        # The bytes as sent: one object the garbage collector never scans (entries() decodes them).
        return Encoded(body), len(body)
    if payload is None:
        return None, 0
    if key:
        payload = _scrub_answer(key, payload)
    size = len(orjson.dumps(payload, default=str))
    if size > ANSWER_BYTES:
        return {"journal": f"an answer of {size} bytes, not kept (limit {ANSWER_BYTES})"}, 100
    return payload, size


def shown_answer(key: str, body: bytes | None) -> Any:
    """The answer a row of references shows: its bytes decoded, the key redacted where it is echoed."""
    if body is None or not body.strip():
        return None  # an empty answer (a dialect's status.no_id "empty"): no JSON to show
    value = json.loads(body)
    if key and any(form in body for form in _forms(key)):
        return _scrub_answer(key, value)
    return value


# Characters JSON may write escaped (PHP's json_encode writes / as \/ and non-ASCII as \uXXXX): the
# key's bytes differ in an answer.
_ESCAPED = re.compile(r'["\\/\x00-\x1f]|[^\x00-\x7f]')


@lru_cache(maxsize=256)  # a client sends the same key again and again
def _forms(key: str) -> tuple[bytes, ...]:
    """How ``key`` looks inside a JSON answer: its UTF-8 bytes, and each escaped form that differs."""
    raw = key.encode("utf-8", "surrogatepass")
    if not _ESCAPED.search(key):
        return (raw,)
    forms = {raw}
    for text in (json.dumps(key, ensure_ascii=False)[1:-1], json.dumps(key)[1:-1]):  # as orjson writes it; \uXXXX
        forms |= {text.encode("utf-8", "surrogatepass"), text.replace("/", "\\/").encode("utf-8", "surrogatepass")}
    return tuple(forms)


class CheckedRequest(Protocol):
    """What the checks read of a journaled request (``journal.Request`` has it)."""

    @property
    def seq(self) -> int: ...

    @property
    def at(self) -> float: ...

    @property
    def wall(self) -> float: ...

    @property
    def key_id(self) -> str: ...

    @property
    def params(self) -> Mapping[str, str]: ...

    @property
    def order(self) -> int | None: ...

    @property
    def ids(self) -> list[int]: ...

    def get(self, name: str, default: Any = None) -> Any: ...

    def describe(self) -> str: ...


R = TypeVar("R", bound=CheckedRequest)  # the journal's entry type (journal.Request)


class JournalChecks(Generic[R]):
    """Mixed into Journal: everything here reads ``self.entries(action, key)``."""

    def entries(self, action: str | None = None, key: str | None = None, limit: int | None = None) -> list[R]:
        raise NotImplementedError

    # --- verification ----------------------------------------------------------------

    def find(self, action: str | None = None, key: str | None = None, **params: Any) -> list[R]:
        """Requests of ``action`` whose fields equal ``params`` (values compared as text;
        a callable value is a predicate on the field's text)."""
        return [e for e in self.entries(action, key) if not _differences(e, params)]

    def assert_requested(
        self, action: str, *, count: int | None = None, key: str | None = None, **params: Any
    ) -> list[R]:
        """Fail unless some request (or exactly ``count``) of ``action`` has these fields."""
        __tracebackhide__ = True
        found = self.find(action, key, **params)
        if (count is None and found) or (count is not None and len(found) == count):
            return found
        wanted = _wanted(action, params)
        if count is not None and found:
            lines = [f"Expected {count} {wanted}; got {len(found)}:"]
            lines += [f"  {e.describe()}" for e in found]
            raise AssertionError("\n".join(lines))
        raise AssertionError(self._miss_report(action, key, params, wanted, count))

    def assert_not_requested(self, action: str, *, key: str | None = None, **params: Any) -> None:
        __tracebackhide__ = True
        found = self.find(action, key, **params)
        if found:
            lines = [f"Expected no {_wanted(action, params)}; got {len(found)}:"]
            lines += [f"  {e.describe()}" for e in found]
            raise AssertionError("\n".join(lines))

    def _miss_report(self, action: str, key: str | None, params: Mapping[str, Any], wanted: str, count: int | None) -> str:
        same = self.entries(action, key)
        head = f"Expected {'' if count is None else f'{count} '}{wanted}; none matched."
        if not same:
            others = self.entries(key=key)
            lines = [head, f"The panel received no '{action}' request at all."]
            if others:
                lines.append(f"It received {len(others)} request(s), newest last:")
                lines += [f"  {e.describe()}" for e in others[-10:]]
            else:
                lines.append("It received no requests: is the client pointed at this panel's url and key?")
            return "\n".join(lines)
        ranked = sorted(same, key=lambda e: (len(_differences(e, params)), -e.seq))
        lines = [head, f"The panel received {len(same)} '{action}' request(s); the closest:"]
        for entry in ranked[:5]:
            lines.append(f"  {entry.describe()}")
            for name, (expected, got) in _differences(entry, params).items():
                shown = "(missing)" if got is None else repr(got)
                lines.append(f"      {name}: expected {_expected_text(expected)}, got {shown}")
        return "\n".join(lines)

    # --- duplicate orders: API v2 has no idempotency key --------------------------------

    def duplicate_orders(self, window: float = 60.0, key: str | None = None) -> list[list[R]]:
        """Groups of ``add`` requests with the same key, service, link and quantity sent
        within ``window`` virtual seconds of each other: each retry may charge again."""
        groups: dict[tuple[str, ...], list[R]] = {}
        for e in self.entries("add", key):
            ident = (e.key_id, e.get("service", "").strip(), e.get("link", "").strip(), e.get("quantity", "").strip())
            groups.setdefault(ident, []).append(e)
        out = []
        for entries in groups.values():
            run = [entries[0]]
            for e in entries[1:]:
                if e.at - run[-1].at <= window:
                    run.append(e)
                else:
                    if len(run) > 1:
                        out.append(run)
                    run = [e]
            if len(run) > 1:
                out.append(run)
        return sorted(out, key=lambda run: run[0].seq)

    def assert_no_duplicate_orders(self, window: float = 60.0, key: str | None = None) -> None:
        __tracebackhide__ = True
        runs = self.duplicate_orders(window, key)
        if not runs:
            return
        lines = [f"{len(runs)} order(s) were sent more than once within {window:g} s (API v2 has no idempotency:"
                 " every 'add' that reaches the panel is charged):"]
        for run in runs:
            placed = [e.order for e in run if e.order is not None]
            first = run[0]
            lines.append(
                f"  service={first.get('service')!r} link={first.get('link')!r} quantity={first.get('quantity')!r}:"
                f" sent {len(run)} times, placed {len(placed)} order(s) {placed}"
            )
            lines += [f"    {e.describe()}" for e in run]
        raise AssertionError("\n".join(lines))

    # --- polling ---------------------------------------------------------------------

    def polls(self, order_id: int, action: str = "status", key: str | None = None) -> list[R]:
        """The ``action`` requests that asked about ``order_id`` (single or batched)."""
        return [e for e in self.entries(action, key) if order_id in e.ids]

    def assert_polling_rate(
        self,
        *,
        min_interval: float | None = None,
        max_per_minute: int | None = None,
        action: str = "status",
        key: str | None = None,
        clock: str = "virtual",
    ) -> None:
        """Fail if the same id was polled again sooner than ``min_interval`` seconds, or if
        more than ``max_per_minute`` ``action`` requests fell in any 60 s. ``clock`` is
        "virtual" (the panel's clock, which tests move) or "real" (wall time)."""
        __tracebackhide__ = True
        if clock not in ("virtual", "real"):
            raise ValueError(f"clock is 'virtual' or 'real', got {clock!r}")
        at: Callable[[R], float] = (lambda e: e.at) if clock == "virtual" else (lambda e: e.wall)
        entries = self.entries(action, key)
        problems: list[str] = []
        if min_interval is not None:
            last: dict[int, R] = {}
            for e in entries:
                for i in e.ids:
                    previous = last.get(i)
                    if previous is not None and at(e) - at(previous) < min_interval:
                        problems.append(
                            f"  id {i} polled {at(e) - at(previous):.3g} s after the previous poll "
                            f"(minimum {min_interval:g} s): #{previous.seq} then #{e.seq}"
                        )
                    last[i] = e
        if max_per_minute is not None:
            times = [at(e) for e in entries]
            start = 0
            for end in range(len(times)):
                while times[end] - times[start] >= 60.0:
                    start += 1
                if end - start + 1 > max_per_minute:
                    problems.append(
                        f"  {end - start + 1} '{action}' requests within 60 s (maximum {max_per_minute}): "
                        f"#{entries[start].seq} .. #{entries[end].seq}"
                    )
                    break
        if problems:
            shown = problems[:10] + ([f"  ... and {len(problems) - 10} more"] if len(problems) > 10 else [])
            raise AssertionError(f"The client polls '{action}' too fast ({clock} clock):\n" + "\n".join(shown))


def _differences(entry: CheckedRequest, params: Mapping[str, Any]) -> dict[str, tuple[Any, str | None]]:
    out = {}
    for name, expected in params.items():
        got = entry.params.get(name)
        if callable(expected):
            ok = got is not None and bool(expected(got))
        else:
            ok = got is not None and got.strip() == _text(expected)
        if not ok:
            out[name] = (expected, got)
    return out


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value).strip()


def _expected_text(value: Any) -> str:
    return getattr(value, "__name__", "a value passing the check") if callable(value) else repr(_text(value))


def _wanted(action: str, params: Mapping[str, Any]) -> str:
    fields = ", ".join(f"{k}={_expected_text(v)}" for k, v in params.items())
    return f"'{action}' request" + (f" with {fields}" if fields else "")


__all__ = ["ANSWER_BYTES", "FIELD_BYTES", "FIELDS_BYTES", "JOURNAL_BYTES", "JOURNAL_LIMIT", "Journal", "Request"]

Now = Callable[[], float]
_ID_FIELDS = ("order", "orders", "refill", "refills")

JOURNAL_LIMIT = 10_000  # entries
JOURNAL_BYTES = 32 << 20  # about 32 MiB of fields and answers
_ROW_OVERHEAD = 400  # a row's tuple, floats, dict and strings, roughly

# The states of an entry (Request.state).
ARRIVED, DELAYED, ABANDONED, ANSWERED = "arrived", "delayed", "abandoned", "answered"


IdReader = Callable[[str], "int | None"]  # how the panel's dialect writes an order or refill id


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
    read_id: IdReader = field(default=parse_id, repr=False, compare=False)  # the dialect's id format

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
        return None if value is None or isinstance(value, bool) else self.read_id(str(value))

    @property
    def ids(self) -> list[int]:
        """The order or refill ids this request asked about (``order``/``orders``/...)."""
        out: list[int] = []
        for name in _ID_FIELDS:
            for token in self.params.get(name, "").split(","):
                found = self.read_id(token)
                if found is not None:
                    out.append(found)
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
_WIRE_SHARED = 8 << 10  # a head that holds more (_head_size) is its row's own, never kept for sharing: the
# shared set would otherwise hold up to 1,024 of the largest heads after their rows left the journal


# The memory behind one header of a kept head: its (name, value) tuple, two bytes objects and its slot,
# beside their characters. A head of thousands of tiny headers (the HTTP layer bounds its bytes, not
# their number) holds far more memory than bytes: the journal's bound counts the memory.
HEADER_OBJECTS = 130
FIELD_OBJECTS = 110  # the same for a kept field: two str objects and their slots


def _head_size(facts: WireFacts) -> int:
    """About the memory the request head the facts hold takes."""
    try:
        return 200 + len(facts[3]) + len(facts[4]) + sum(len(name) + len(value) + HEADER_OBJECTS
                                                         for name, value in facts[5])
    except TypeError:
        return 0


class Journal(JournalChecks["Request"]):
    """The requests one panel received, oldest first: at most ``limit`` of them and about
    ``max_bytes`` bytes."""

    def __init__(self, now: Now, limit: int = JOURNAL_LIMIT, max_bytes: int = JOURNAL_BYTES,
                 read_id: IdReader = parse_id, hide: Callable[[Any], Any] | None = None) -> None:
        self._now = now
        self._hide = hide  # what the debug log lines pass through: the panel's keys pasted into a field hidden
        self._read_id = read_id  # ids as the panel's dialect writes them (ObjectIds are no decimals)
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
        try:  # a server's scope has every one (subscripts cost less than calls of get)
            facts = (scope["method"], scope["scheme"], scope["root_path"], scope["path"], scope["query_string"],
                     tuple(scope["headers"]), key)
        except KeyError:  # a scope made by hand
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
        size = _head_size(facts)
        if size > _WIRE_SHARED:
            return facts, size
        if len(wires) >= _WIRES_MAX:
            wires.clear()
        wires[facts] = self._last_wire = facts
        return facts, size

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
            logs.request(row[0], row[3], row[4], status, seconds, fault, row[_STATE], kept, self._hide)

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
        size += FIELD_OBJECTS * len(fields)
        wire, head = self._wire(scope, fields.get("key") or "")
        return self._append(tuple(fields), tuple(fields.values()), status, body, seconds, size + head, wire)

    def record_form(self, form: bytes, body: bytes, status: int, seconds: float, scope: Mapping[str, Any],
                    key: str) -> int | None:
        """``record_answered`` for a urlencoded body answered at once (_server/hotpath.py): the row
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
            if len(entries) > self.limit or self._bytes > self.max_bytes:  # a full journal: the oldest goes
                self._bytes -= entries.popleft()[_SIZE]
                if len(entries) > self.limit or self._bytes > self.max_bytes:  # a large row: more go
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
                               payload.decode() if type(payload) is Encoded else payload, latency, fault, state,
                               self._read_id))
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
