"""The proxy's journal: every exchange it forwarded, keys redacted before anything is kept.

The keys are learned from the client's own requests (the ``key`` field, ``Authorization:
Bearer``, ``X-Api-Key``) and hidden wherever they occur: parameters, query, headers, bodies,
answers; a key learned later is hidden in the entries kept before it too, when they are read (a
client may paste another tenant's key into a link before that tenant's first request).

Bounded: at most ``limit`` entries and about ``max_bytes`` bytes (the oldest go first); one entry
keeps at most ``BODY_BYTES`` of a request body and ``ANSWER_BYTES`` of an answer.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode

from conformance.redaction import KEY_FIELDS, Redactor, distinctive
from .._har import HarExchange

BODY_BYTES = 64 << 10
ANSWER_BYTES = 4 << 20
MAX_KEYS = 1000  # distinct keys learned; past it, key fields and auth headers are still redacted
SECRET_HEADERS = ("authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "x-mock-token")

Headers = list[tuple[str, str]]


@dataclass
class ForwardedExchange:
    """One exchange the proxy forwarded, as kept: all text redacted, bodies cut."""

    n: int
    started: float
    seconds: float
    method: str
    url: str  # the panel's URL with the query, redacted
    request_headers: Headers
    request_body: str
    params: dict[str, str]  # query fields overlaid with body fields, keys redacted
    status: int | None = None
    response_headers: Headers = field(default_factory=list)
    response_body: str = ""  # decoded (content-encoding undone), redacted, cut at ANSWER_BYTES
    response_size: int = 0  # bytes forwarded to the client
    cut: bool = False  # the answer was longer than what is kept
    error: str | None = None  # the panel did not answer; the proxy did (502)
    known: int = 0  # the keys learned when it was redacted: read again past them (ProxyJournal.entries)

    @property
    def size(self) -> int:
        return 300 + len(self.url) + len(self.request_body) + len(self.response_body) + sum(
            len(a) + len(b) for a, b in self.request_headers + self.response_headers)

    def header(self, name: str, response: bool = True) -> str:
        for k, v in self.response_headers if response else self.request_headers:
            if k.lower() == name:
                return v
        return ""

    def har(self) -> HarExchange:
        comment = f"the panel did not answer: {self.error}; the proxy answered 502" if self.error else (
            "the answer was cut in the journal" if self.cut else "")
        return HarExchange(
            started=self.started, seconds=self.seconds, method=self.method, url=self.url,
            request_headers=self.request_headers, request_body=self.request_body if self.request_body else None,
            request_mime=self.header("content-type", response=False), status=self.status or 0,
            response_headers=self.response_headers, response_body=self.response_body,
            response_mime=self.header("content-type"), response_size=self.response_size, comment=comment,
        )


class ProxyJournal:
    """The exchanges the proxy forwarded, oldest first (the mock's own journal is server/journal.py)."""

    def __init__(self, limit: int = 10_000, max_bytes: int = 64 << 20) -> None:
        self.redactor = Redactor()
        self.limit, self.max_bytes = limit, max_bytes
        self._entries: deque[ForwardedExchange] = deque()
        self._bytes = 0
        self._n = 0
        self.dropped = 0  # entries that left for the bounds
        self._lock = threading.Lock()
        self._keys: dict[str, None] = {}  # in the order first seen (a report names them in that order)

    # --- keys -----------------------------------------------------------------------

    def learn(self, key: str) -> None:
        if not key or key in self._keys or len(self._keys) >= MAX_KEYS:
            return
        self._keys[key] = None
        # A distinctive key is found in any encoding (conformance/redaction.py); a plain one only as a
        # key field's value, where a client may have percent-encoded it.
        for form in {key} if distinctive(key) else {key, quote_plus(key), quote(key, safe="")}:
            self.redactor.add(form)

    def learn_from(self, fields: dict[str, str], headers: Headers) -> None:
        for name in KEY_FIELDS:
            if fields.get(name):
                self.learn(fields[name])
        for name, value in headers:
            low = name.lower()
            if low in ("authorization", "proxy-authorization") and value[:7].lower() == "bearer ":
                self.learn(value[7:].strip())
            elif low in ("x-api-key", "api-key"):
                self.learn(value.strip())

    # --- redaction --------------------------------------------------------------------

    def fields(self, fields: dict[str, str]) -> dict[str, str]:
        red = self.redactor
        return {red(k): (red.value(v) if k.lower() in KEY_FIELDS else red(v)) for k, v in fields.items()}

    def query(self, query: str) -> str:
        if not query:
            return ""
        return urlencode(list(self.fields(dict(parse_qsl(query, keep_blank_values=True))).items()))

    def headers(self, headers: Headers) -> Headers:
        return [(k, self._secret(k, v) if k.lower() in SECRET_HEADERS else self.redactor(v)) for k, v in headers]

    def _secret(self, name: str, value: str) -> str:
        # A bearer token keeps its scheme, so a report can say how the key was sent (and send it again).
        if name.lower() in ("authorization", "proxy-authorization") and value[:7].lower() == "bearer ":
            return value[:7] + self.redactor.value(value[7:].strip())
        return self.redactor.value(value)

    def shown_keys(self) -> list[str]:
        """The keys learned, as every entry shows them (redacted), in the order first seen."""
        return [self.redactor.value(key) for key in list(self._keys)]

    def text(self, raw: bytes, limit: int) -> tuple[str, bool]:
        text = raw[:limit].decode("utf-8", errors="replace")
        return self.redactor(text), len(raw) > limit

    # --- entries ----------------------------------------------------------------------

    def add(self, entry: ForwardedExchange) -> ForwardedExchange:
        with self._lock:
            self._n += 1
            entry.n = self._n
            entry.known = len(self._keys)
            self._entries.append(entry)
            self._bytes += entry.size
            while self._entries and (len(self._entries) > self.limit or self._bytes > self.max_bytes):
                self._bytes -= self._entries.popleft().size
                self.dropped += 1
        return entry

    def entries(self) -> list[ForwardedExchange]:
        with self._lock:
            known = len(self._keys)
            for entry in self._entries:
                if entry.known < known:
                    self._again(entry)
                    entry.known = known
            return list(self._entries)

    def _again(self, entry: ForwardedExchange) -> None:
        """An entry kept before a key was learned, with that key hidden too (what was hidden stays as it is
        shown: the redactor's plain call, never ``value``, which would redact a redacted form again)."""
        red = self.redactor
        entry.url, entry.request_body, entry.response_body = red(entry.url), red(entry.request_body), red(entry.response_body)
        entry.params = {red(k): red(v) for k, v in entry.params.items()}
        entry.request_headers = [(k, red(v)) for k, v in entry.request_headers]
        entry.response_headers = [(k, red(v)) for k, v in entry.response_headers]

    def __len__(self) -> int:
        return len(self._entries)

    def describe(self) -> dict[str, Any]:
        return {"entries": len(self._entries), "dropped": self.dropped, "limit": self.limit, "max_bytes": self.max_bytes}
