"""Fault injection: what a real panel, its proxy or its CDN does to a client on a bad day.

A fault is scoped by ``action``, ``key``, ``probability`` (seeded) and ``count``, and
may ``skip`` the first matching requests. Kinds:

- transport: ``http`` (``status`` 500/502/503/504/429..., ``retry_after``), ``html`` (a
  Cloudflare "Just a moment..." page, HTTP 200 by default), ``malformed`` (a PHP notice
  before the JSON), ``truncated`` (JSON cut short), ``empty`` (HTTP 200, no body), ``drop``
  (the connection closes without an answer). ``processed`` says whether the panel acted
  on the request before the answer was lost: true by default for malformed, truncated
  and empty (the panel answered, the answer broke), false for the others (the request
  never reached it). A processed ``add`` has placed and charged its order.
- ``latency``: ``seconds`` of real delay before the answer (combines with the others; one
  request waits at most ``MAX_LATENCY`` in all, however many latency faults and words fire).

Faults and in-band trigger words act only on requests with a valid key: anything else gets
the panel's own answer. A fault whose ``count`` is spent leaves the list.
- domain: ``disable`` or ``reprice`` (``service``, ``rate``) a service, after a
  ``services`` call by default (the price list the client holds goes stale); ``stuck``
  (the order an ``add`` placed stays Pending); ``cancel`` (the panel cancels the order an
  ``add`` placed, when it would have started); ``drain`` (``amount``, default all: the
  balance is spent by "another client" just before an ``add``).

This module: the spec and the set of faults, and what a transport fault sends the client (nginx's
error pages, Cloudflare's challenge, a PHP notice before the JSON, JSON cut short, nothing, or a
dropped connection). ``middleware.py`` fires them, in front of the API endpoint.
"""

from __future__ import annotations

import asyncio
import builtins
import random
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count
from typing import Any, Mapping

import httpx
from starlette.types import Receive, Scope, Send

from .. import _connections as connections
from .._domain.accounts import key_id, redact
from .._domain.money import parse_amount
from .._domain.numbers import parse_int
from .._endpoint.api import SANDBOX, is_json_type, json_bytes


TRANSPORT = ("http", "html", "malformed", "truncated", "empty", "drop")
DOMAIN = ("disable", "reprice", "stuck", "cancel", "drain")
KINDS = TRANSPORT + ("latency",) + DOMAIN
_PROCESSED = {"malformed": True, "truncated": True, "empty": True}
_DEFAULT_ACTIONS = {"disable": "services", "reprice": "services", "stuck": "add", "cancel": "add", "drain": "add"}
_DEFAULT_WHEN = {"disable": "after", "reprice": "after", "stuck": "after", "cancel": "after", "drain": "before"}
_SPEC_FIELDS = {
    "kind", "action", "key", "probability", "count", "skip", "status", "retry_after", "body", "content_type",
    "seconds", "processed", "service", "rate", "amount", "when",
}
MAX_LATENCY = 600.0
# What a fault's answer may say it is, unless the server allows any (serve --allow-unsafe-fault-content):
# types a browser never runs as script from a sandboxed answer (SVG, XHTML, XML and JavaScript can be
# loaded as a script or a document elsewhere on the page).
SAFE_CONTENT_TYPES = ("application/json", "text/plain", "text/html")
UNSAFE_FLAG = "--allow-unsafe-fault-content"


@dataclass
class Fault:
    id: int
    kind: str
    actions: frozenset[str] | None = None
    key_id: str | None = None
    key_shown: str | None = None
    probability: float = 1.0
    count: int | None = None  # times left to fire; None: unlimited
    skip: int = 0  # matching requests to let through first
    status: int = 200
    retry_after: int | None = None
    body: str | None = None
    content_type: str | None = None
    seconds: float = 0.0
    processed: bool = False
    service: int | None = None
    rate: Decimal | None = None
    amount: Decimal | None = None
    when: str = "before"
    fired: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def client_status(self) -> int | None:
        """The HTTP status the client sees (None: no answer at all)."""
        if self.kind == "drop":
            return None
        return self.status if self.kind in ("http", "html") else 200

    @property
    def active(self) -> bool:
        """True while the fault can still fire (its ``count`` is not used up)."""
        return self.count is None or self.count > 0

    def matches(self, action: str, kid: str | None) -> bool:
        """Whether a request of this action, from this key id, is in the fault's scope."""
        if self.actions is not None and action not in self.actions:
            return False
        return self.key_id is None or self.key_id == kid

    def to_json(self) -> dict[str, Any]:
        """The fault as the control API shows it (the key redacted)."""
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "action": None if self.actions is None else sorted(self.actions),
            "key": self.key_shown,
            "probability": self.probability,
            "count": self.count,
            "skip": self.skip,
            "fired": self.fired,
        }
        if self.kind in ("http", "html"):
            out.update(status=self.status, retry_after=self.retry_after)
        if self.kind in TRANSPORT:
            out["processed"] = self.processed
        if self.kind == "latency":
            out["seconds"] = self.seconds
        if self.kind in DOMAIN:
            out["when"] = self.when
        if self.kind in ("disable", "reprice"):
            out["service"] = self.service
        if self.kind == "reprice":
            out["rate"] = str(self.rate)
        if self.kind == "drain":
            out["amount"] = None if self.amount is None else str(self.amount)
        return out


def _int(spec: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = spec.get(name)
    if value is None:
        return None
    number = parse_int(value)  # "²" passes str.isdigit and would crash int()
    if number is None:
        raise ValueError(f"fault field {name!r} must be a whole number (ASCII digits), got {value!r}")
    if not low <= number <= high:
        raise ValueError(f"fault field {name!r} must be between {low} and {high}, got {number}")
    return number


def _content_type(value: str, unsafe: bool) -> str:
    if not value.isascii() or not value.isprintable() or len(value) > 200:
        raise ValueError(f"fault field 'content_type' is one header value of printable ASCII, at most 200 "
                         f"characters, got {value[:60]!r}")
    media = value.split(";", 1)[0].strip().lower()
    if not unsafe and media not in SAFE_CONTENT_TYPES:
        raise ValueError(
            f"fault field 'content_type' {media!r} is not one this server sends: use one of "
            f"{', '.join(SAFE_CONTENT_TYPES)} (with parameters such as '; charset=utf-8'), or start the server "
            f"with {UNSAFE_FLAG} to send any type (a page the mock sends could then run script as its origin)"
        )
    return value


def fault_from_spec(spec: Mapping[str, Any], fault_id: int, known: frozenset[str] | None = None,
                    unsafe_content: bool = False) -> Fault:
    """Check a fault spec (JSON or keyword arguments); the error names the bad field.
    ``known``: the panel's action names; a fault for another action could never fire.
    ``unsafe_content``: any ``content_type``, not only SAFE_CONTENT_TYPES."""
    if not isinstance(spec, Mapping):
        raise ValueError("a fault spec is a JSON object such as {\"kind\": \"http\", \"status\": 502}")
    unknown = set(spec) - _SPEC_FIELDS
    if unknown:
        raise ValueError(f"unknown fault field(s) {sorted(unknown)}; allowed: {sorted(_SPEC_FIELDS)}")
    kind = str(spec.get("kind", "")).strip().lower()
    status = _int(spec, "status", 100, 599)
    if kind.isascii() and kind.isdigit():  # "502" is short for {"kind": "http", "status": 502}
        if not 100 <= int(kind) <= 599:
            raise ValueError(f"fault field 'kind' {kind!r} is no HTTP status; use one from 100 to 599, e.g. '502'")
        kind, status = "http", int(kind)
    if kind == "cloudflare":
        kind = "html"
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; use one of: {', '.join(KINDS)} (or a status like '502')")
    if kind == "http" and status is None:
        raise ValueError("an 'http' fault needs a 'status', e.g. 502, 503 or 429")
    fault = Fault(fault_id, kind, status=status or 200)
    action = spec.get("action", _DEFAULT_ACTIONS.get(kind))
    if action is not None:
        actions = [action] if isinstance(action, str) else action
        if not isinstance(actions, (list, tuple, set, frozenset)) or not all(isinstance(a, str) for a in actions):
            raise ValueError(f"fault field 'action' is an action name or a list of them, got {action!r}")
        fault.actions = frozenset(a.strip() for a in actions)
        strangers = sorted(fault.actions - known) if known is not None else []
        if strangers or not fault.actions:
            raise ValueError(
                f"unknown action(s) {strangers or [action]} in fault field 'action': such a fault would never fire; "
                f"this panel's actions: {', '.join(sorted(known or ()))}"
            )
    key = spec.get("key")
    if key is not None:
        if not isinstance(key, str) or not key:
            raise ValueError("fault field 'key' must be an API key")
        fault.key_id, fault.key_shown = key_id(key), redact(key)
    probability = spec.get("probability", 1.0)
    if isinstance(probability, bool) or not isinstance(probability, (int, float, str, Decimal)):
        raise ValueError(f"fault field 'probability' must be a number in (0, 1], got {probability!r}")
    try:
        fault.probability = float(probability)
    except ValueError:
        raise ValueError(f"fault field 'probability' must be a number in (0, 1], got {probability!r}") from None
    if not 0 < fault.probability <= 1:
        raise ValueError(f"fault field 'probability' must be in (0, 1], got {probability!r}")
    fault.count = _int(spec, "count", 1, 10**9)
    fault.skip = _int(spec, "skip", 0, 10**9) or 0
    fault.retry_after = _int(spec, "retry_after", 0, 86400)
    if kind == "http" and status == 429 and fault.retry_after is None:
        fault.retry_after = 1  # 429 comes with Retry-After; short, so a test that honours it stays fast
    for name in ("body", "content_type"):
        value = spec.get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"fault field {name!r} must be a string")
        if name == "content_type" and value is not None:
            value = _content_type(value, unsafe_content)
        setattr(fault, name, value)
    processed = spec.get("processed", _PROCESSED.get(kind, False))
    if not isinstance(processed, bool):
        raise ValueError(f"fault field 'processed' must be true or false, got {processed!r}")
    fault.processed = processed
    if kind == "latency":
        try:
            fault.seconds = float(spec.get("seconds", 1.0))
        except (TypeError, ValueError):
            raise ValueError(f"fault field 'seconds' must be a number, got {spec.get('seconds')!r}") from None
        if not 0 < fault.seconds <= MAX_LATENCY:
            raise ValueError(f"fault field 'seconds' must be in (0, {MAX_LATENCY:g}], got {fault.seconds}")
    fault.service = _int(spec, "service", 1, 10**12)
    if kind == "reprice":
        if spec.get("rate") is None:
            raise ValueError("a 'reprice' fault needs a 'rate', e.g. \"1.50\" (per 1000)")
        fault.rate = parse_amount(spec["rate"], name="rate")
        if fault.rate < 0:
            raise ValueError("fault field 'rate' must not be negative")
    if kind in ("disable", "reprice") and fault.service is None and (fault.actions is None or "add" not in fault.actions):
        raise ValueError(f"a {kind!r} fault needs a 'service' (or action 'add', to hit the service being ordered)")
    if spec.get("amount") is not None:
        fault.amount = parse_amount(spec["amount"], name="amount")
        if fault.amount <= 0:
            raise ValueError("fault field 'amount' must be positive")
    when = spec.get("when", _DEFAULT_WHEN.get(kind, "before"))
    if when not in ("before", "after"):
        raise ValueError(f"fault field 'when' is 'before' or 'after', got {when!r}")
    fault.when = when
    return fault


class FaultSet:
    """The faults of one panel, in the order they were added; a seeded dice for probability."""

    def __init__(self, seed: int = 0, actions: frozenset[str] | None = None) -> None:
        self.actions = actions  # the panel's action names, to refuse a fault that could never fire
        self.unsafe_content = False  # any content_type (serve --allow-unsafe-fault-content)
        self._faults: list[Fault] = []
        self._ids = count(1)
        self._rng = random.Random(f"faults:{seed}")
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._faults)

    def add(self, spec: Mapping[str, Any]) -> Fault:
        fault = fault_from_spec(spec, next(self._ids), self.actions, self.unsafe_content)
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault_id: int) -> None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.id == fault_id:
                    del self._faults[i]
                    return
        raise KeyError(f"no fault {fault_id}: it was removed, or never added (GET /_mock/faults lists them)")

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def fire(self, action: str, kid: str | None) -> builtins.list[Fault]:  # builtins: list is a method here
        """The faults that fire for this request (counts and skips are spent here): any
        latency and domain faults, and at most one transport fault, the first that fires."""
        out = []
        answered = False  # one transport fault answers a request: the first added that fires
        with self._lock:
            for fault in self._faults:
                if not fault.active or not fault.matches(action, kid) or (answered and fault.kind in TRANSPORT):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fault.probability < 1 and self._rng.random() >= fault.probability:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                fault.fired += 1
                answered = answered or fault.kind in TRANSPORT
                out.append(fault)
            if any(not f.active for f in out):  # used up: it leaves the list
                self._faults = [f for f in self._faults if f.active]
        return out



class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised to an in-process client where a socket client would see the connection close."""

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a response. (mockpanel 'drop' fault)")


_REASONS = {
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Temporarily Unavailable", 504: "Gateway Time-out",
}

CLOUDFLARE_PAGE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta name="robots" content="noindex,nofollow">
</head><body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">Checking if the site connection is secure</h1>
<noscript><div class="h2">Enable JavaScript and cookies to continue</div></noscript>
</div></div><script>(function(){window._cf_chl_opt={cvId: '3',cType: 'managed'};})();</script></body></html>
"""

PHP_NOTICE = (
    b"<br />\n<b>Warning</b>:  Undefined array key \"currency\" in <b>/var/www/html/api/v2/index.php</b>"
    b" on line <b>87</b><br />\n"
)
PHP_FATAL = (
    b"<br />\n<b>Fatal error</b>:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes)"
    b" in <b>/var/www/html/api/v2/index.php</b> on line <b>212</b><br />\n"
)


def _status_page(status: int) -> bytes:
    reason = _REASONS.get(status, "Error")
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


async def _send(send: Send, status: int, body: bytes, content_type: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    kind = content_type.encode("latin-1")
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    headers += extra or []
    if not is_json_type(kind):  # a page, a PHP notice, a body the test chose: it runs nothing as the mock's origin
        headers += SANDBOX
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def drop(scope: Scope) -> None:
    """Close the connection the request came on, with no answer (``mockpanel/_connections.py`` finds it)."""
    transport = connections.of(scope)
    if transport is None:
        raise ConnectionDropped()  # in-process: what a client over a socket would see
    transport.close()
    for _ in range(100):  # let the server see the connection gone, so it does not answer for us
        if connections.of(scope) is not transport:
            break
        await asyncio.sleep(0)


async def answer(fault: Fault, scope: Scope, send: Send, produced: tuple[int, list[Any], bytes] | None) -> None:
    """Send what the fault makes of the panel's answer (``produced``, when it was processed)."""
    kind = fault.kind
    if kind == "drop":
        await drop(scope)
        return
    body = produced[2] if produced is not None else None
    if kind == "http":
        extra = [] if fault.retry_after is None else [(b"retry-after", str(fault.retry_after).encode())]
        page = _status_page(fault.status) if fault.body is None else fault.body.encode()
        await _send(send, fault.status, page, fault.content_type or "text/html; charset=utf-8", extra)
    elif kind == "html":
        page = CLOUDFLARE_PAGE.encode() if fault.body is None else fault.body.encode()
        extra = [(b"server", b"cloudflare"), (b"cf-ray", b"8c1f2a3b4d5e6f70-AMS"), (b"cache-control", b"no-cache")]
        await _send(send, fault.status, page, fault.content_type or "text/html; charset=UTF-8", extra)
    elif kind == "malformed":
        text = PHP_NOTICE + body if body is not None else PHP_FATAL
        await _send(send, 200, text if fault.body is None else fault.body.encode(), fault.content_type or "text/html; charset=UTF-8")
    elif kind == "truncated":
        whole = body if body is not None else json_bytes({"error": "Incorrect request"})
        cut = whole[: max(1, len(whole) // 2)] if len(whole) > 1 else b""
        await _send(send, 200, cut, fault.content_type or "application/json")
    elif kind == "empty":
        await _send(send, 200, b"", fault.content_type or "text/html; charset=UTF-8")


async def capture(app: Any, scope: Scope, receive: Receive) -> tuple[int, list[Any], bytes]:
    status, headers, chunks = 200, [], []

    async def send(message: Any) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, headers, b"".join(chunks)
