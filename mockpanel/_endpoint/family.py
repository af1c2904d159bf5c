"""The request path's family settings: the key from a header, a request quota, idempotent adds.

Generic: each piece is switched on by a profile setting (mockpanel/_dialects/settings.py),
never by a profile's name. Every store here is bounded.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from .._dialects.settings import Family, Idempotency, RateLimit
from .._domain.errors import PanelError
from .._panel.panel import Panel

Headers = list[tuple[bytes, bytes]]
MAX_KEYS = 10_000  # keys a quota or an idempotency store follows at once (the oldest leaves first)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()  # a key is never stored as itself


# panel -> key digest -> request id -> order id
_requests: weakref.WeakKeyDictionary[Panel, OrderedDict[bytes, OrderedDict[str, int]]] = weakref.WeakKeyDictionary()


def idempotent(panel: Panel, spec: Idempotency, key: str, params: Mapping[str, str], place: Callable[[], int]) -> int:
    """``place()``'s order, or the order an earlier add with the same request id placed.

    Under the panel's lock, so concurrent retries of one request place one order.
    An add without the field is placed as usual; a refused add remembers nothing.
    """
    request = (params.get(spec.field) or "").strip()[:200]
    if not request:
        return place()
    with panel.lock:
        per_panel = _requests.setdefault(panel, OrderedDict())
        digest = _digest(key)
        seen = per_panel.get(digest)
        if seen is not None and request in seen:
            order_id = seen[request]
            try:
                panel.status(key, order_id)  # still there (not forgotten by a reset)
                return order_id
            except PanelError:
                del seen[request]
        order_id = place()
        if seen is None:
            seen = per_panel[digest] = OrderedDict()
            while len(per_panel) > MAX_KEYS:
                per_panel.popitem(last=False)
        seen[request] = order_id
        while len(seen) > spec.keep:
            seen.popitem(last=False)
        return order_id


class Quota:
    """A fixed-window request count per key (real time: a client's limit is in its seconds)."""

    def __init__(self, spec: RateLimit, now: Callable[[], float] = time.monotonic) -> None:
        self.spec = spec
        self._now = now
        self._lock = threading.Lock()
        self._windows: OrderedDict[bytes, tuple[float, int]] = OrderedDict()

    def take(self, key: str) -> tuple[bool, Headers]:
        """(allowed, the X-RateLimit-* headers for the answer)."""
        now = self._now()
        digest = _digest(key)
        with self._lock:
            start, used = self._windows.get(digest, (now, 0))
            if now - start >= self.spec.window:
                start, used = now, 0
            allowed = used < self.spec.requests
            used += 1 if allowed else 0
            self._windows[digest] = (start, used)
            self._windows.move_to_end(digest)
            while len(self._windows) > MAX_KEYS:
                self._windows.popitem(last=False)
        reset = max(1, int(start + self.spec.window - now + 0.999))
        headers: Headers = []
        if self.spec.headers:
            headers = [(b"x-ratelimit-limit", str(self.spec.requests).encode()),
                       (b"x-ratelimit-remaining", str(max(0, self.spec.requests - used)).encode()),
                       (b"x-ratelimit-reset", str(reset).encode())]
        if not allowed:
            headers.append((b"retry-after", str(reset).encode()))
        return allowed, headers


class Gate:
    """Before dispatch: the key from the family's headers, and its quota."""

    def __init__(self, family: Family) -> None:
        self.family = family
        self.quota = Quota(family.rate_limit) if family.rate_limit is not None else None

    def before(self, scope: Mapping[str, Any], fields: dict[str, str]) -> tuple[dict[str, str], Any, Headers]:
        """(fields with the key, a refusal to send instead of dispatching or None, extra headers)."""
        sources = self.family.key_from
        if "field" not in sources:
            fields = {k: v for k, v in fields.items() if k != "key"}
        if not fields.get("key") and sources != ("field",):
            for name, value in scope.get("headers", ()):
                if name == b"authorization" and "bearer" in sources:
                    scheme, _, token = value.decode("latin-1").partition(" ")
                    if scheme.lower() == "bearer" and token.strip():
                        fields = {**fields, "key": token.strip()}
                        break
                elif name == b"x-api-key" and "x-api-key" in sources and value.strip():
                    fields = {**fields, "key": value.decode("latin-1").strip()}
                    break
        if self.quota is None:
            return fields, None, []
        allowed, headers = self.quota.take(fields.get("key") or "")
        if allowed:
            return fields, None, headers
        assert self.family.rate_limit is not None
        return fields, {"error": self.family.rate_limit.error}, headers
