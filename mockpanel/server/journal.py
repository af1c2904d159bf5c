"""The request journal: every API request a panel answered, and checks on what clients sent.

An entry holds the time (virtual and wall), the action, the parameters, the answer,
the HTTP status the client saw, the latency and the fault injected, if any. The API key
is never stored: an entry carries only its redacted form (``key#1a2b3c4d``) and its key
id, and a key pasted into another field is redacted there too.

The checks answer the questions a client developer asks of a money API with no
idempotency: did my client send this? did it place the same order twice? does it poll
too fast? Each failing check raises AssertionError with a message that shows what was
expected and what the panel received.
"""

from __future__ import annotations

import json

import threading
import time
from collections import deque
from dataclasses import dataclass
from itertools import count
from typing import Any, Callable, Mapping

from ..domain.accounts import key_id, redact

Now = Callable[[], float]
_ID_FIELDS = ("order", "orders", "refill", "refills")


@dataclass(frozen=True, slots=True)
class Request:
    """One API request as the panel saw it, with the key redacted."""

    seq: int
    at: float  # virtual time (the panel's clock)
    wall: float  # real time (time.time())
    action: str
    params: Mapping[str, str]  # every field but the key
    key: str  # redacted, e.g. "key#1a2b3c4d"; "" when no key was sent
    key_id: str
    status: int | None  # the HTTP status the client saw; None: the connection was dropped
    response: Any  # the panel's answer (JSON value); None when the panel never handled it
    latency: float  # seconds inside the server
    fault: str | None = None  # the injected fault's kind

    def __getitem__(self, name: str) -> str:
        return self.params[name]

    def get(self, name: str, default: Any = None) -> Any:
        """A field the client sent, or ``default``."""
        return self.params.get(name, default)

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
                if token.isdigit():
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
        }

    def describe(self) -> str:
        """One line for a failure message: the action, its fields and the answer."""
        parts = [f"#{self.seq}", self.action or "(no action)"]
        parts += [f"{k}={v!r}" for k, v in self.params.items() if k != "action"]
        parts.append("-> dropped" if self.status is None else f"-> HTTP {self.status}")
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


def _scrub(key: str, params: dict[str, str]) -> dict[str, str]:
    """A key pasted into another field is redacted there too."""
    if key and any(key in v for v in params.values()):
        shown = redact(key)
        return {k: v.replace(key, shown) for k, v in params.items()}
    return params


class _Encoded(bytes):
    """An answer kept as the JSON bytes that were sent."""

    def decode(self) -> Any:  # type: ignore[override]
        return json.loads(bytes(self))


class Journal:
    """The requests one panel answered, oldest first, at most ``limit`` of them."""

    def __init__(self, now: Now, limit: int = 10_000) -> None:
        self._now = now
        self._entries: deque[tuple[Any, ...]] = deque(maxlen=limit)
        self._seq = count(1)
        self._lock = threading.Lock()

    # --- recording (an ApiEndpoint observer) ----------------------------------------

    def record(self, scope: Mapping[str, Any], fields: Mapping[str, str], payload: Any, status: int, seconds: float) -> None:
        """Record one answered API request (called by the endpoint before the answer is sent)."""
        fault = scope.get("mockpanel.fault")
        started = scope.get("mockpanel.started")
        if started is not None:
            seconds = time.perf_counter() - started
        key = fields.get("key") or ""
        params = {k: v for k, v in fields.items() if k != "key"}
        kid = ""
        if key:
            params = _scrub(key, params)
            kid = key_id(key)
        if fault is not None:
            status = fault.client_status
            fault = fault.kind
        # The answer's bytes as sent, when the endpoint gives them: one object the garbage collector
        # never scans, where a 100-order status is hundreds (entries() decodes them).
        body = scope.get("mockpanel.body")
        if body is not None and fault is None:
            payload = _Encoded(body)
        # A tuple on the request path (a Request costs twice as much); entries() builds the Requests.
        row = (next(self._seq), self._now(), time.time(), params, kid, status, payload, seconds, fault)
        with self._lock:
            self._entries.append(row)

    # --- reading --------------------------------------------------------------------

    def entries(self, action: str | None = None, key: str | None = None, limit: int | None = None) -> list[Request]:
        """Requests, oldest first; ``key`` may be the key, its redacted form or its key id."""
        with self._lock:
            rows = list(self._entries)
        out = [
            Request(seq, at, wall, params.get("action", "").strip(), params, f"key#{kid[:8]}" if kid else "", kid,
                    status, payload.decode() if type(payload) is _Encoded else payload, latency, fault)
            for seq, at, wall, params, kid, status, payload, latency, fault in rows
        ]
        if action is not None:
            out = [e for e in out if e.action == action]
        if key is not None:
            wanted = {key, key_id(key), redact(key)}
            out = [e for e in out if e.key_id in wanted or e.key in wanted]
        if limit is not None:
            out = out[-limit:] if limit > 0 else []
        return out

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Any:
        return iter(self.entries())

    def clear(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._entries.clear()

    # --- verification ----------------------------------------------------------------

    def find(self, action: str | None = None, key: str | None = None, **params: Any) -> list[Request]:
        """Requests of ``action`` whose fields equal ``params`` (values compared as text;
        a callable value is a predicate on the field's text)."""
        return [e for e in self.entries(action, key) if not _differences(e, params)]

    def assert_requested(
        self, action: str, *, count: int | None = None, key: str | None = None, **params: Any
    ) -> list[Request]:
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
        """Assert no request of ``action`` had these fields."""
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

    def duplicate_orders(self, window: float = 60.0, key: str | None = None) -> list[list[Request]]:
        """Groups of ``add`` requests with the same key, service, link and quantity sent
        within ``window`` virtual seconds of each other: each retry may charge again."""
        groups: dict[tuple[str, ...], list[Request]] = {}
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
        """Assert no ``add`` was repeated (same service, link and quantity) within ``window`` virtual seconds."""
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

    def polls(self, order_id: int, action: str = "status", key: str | None = None) -> list[Request]:
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
        at: Callable[[Request], float] = (lambda e: e.at) if clock == "virtual" else (lambda e: e.wall)
        entries = self.entries(action, key)
        problems: list[str] = []
        if min_interval is not None:
            last: dict[int, Request] = {}
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


def _differences(entry: Request, params: Mapping[str, Any]) -> dict[str, tuple[Any, str | None]]:
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
