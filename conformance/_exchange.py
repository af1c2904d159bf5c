"""One request and its answer as the suite records it (keys redacted), and reading Retry-After."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from typing import Any

BODY_LIMIT = 4000  # characters of a response kept in the trace
USER_AGENT = "mockpanel-conformance/0.1 (+https://github.com/mockpanel)"


def normalize_action(value: object) -> str:
    return str(value or "").strip().lower()


NOT_JSON: Any = object()

MAX_DEPTH = 64  # no panel's answer nests deeper; past it an answer is not read as JSON (nor recursed into)


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep ``value`` nests (a scalar is 0), counted without recursion and only up to ``limit + 1``."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            level += 1
            deepest = max(deepest, level)
            if level > limit:
                return level
            stack.extend((v, level) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


@dataclass
class Exchange:
    """One request and its answer, as recorded: keys redacted, body cut to BODY_LIMIT."""

    n: int
    method: str
    url: str
    params: dict[str, str]
    status: int | None
    content_type: str
    body: str
    elapsed: float
    error: str | None = None
    retries: int = 0
    location: str = ""  # a redirect's target, redacted
    data: Any = field(default=NOT_JSON, repr=False)  # parsed JSON, or NOT_JSON
    json_defect: str | None = None  # what makes the body invalid JSON (RFC 8259), though ``data`` may be read

    @property
    def is_json(self) -> bool:
        return self.data is not NOT_JSON

    @property
    def action(self) -> str:
        return normalize_action(self.params.get("action"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "request": {"method": self.method, "url": self.url, "params": self.params},
            "response": {
                "status": self.status,
                "content_type": self.content_type,
                "body": self.body,
                "error": self.error,
            },
            "elapsed_ms": round(self.elapsed * 1000, 1),
        }

    def request_line(self) -> str:
        fields = "&".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.method} {self.url}  {fields}"

    def response_line(self, limit: int = 300) -> str:
        if self.error:
            return f"(no answer: {self.error})"
        body = self.body if len(self.body) <= limit else self.body[:limit] + "…"
        return f"HTTP {self.status} {self.content_type or '(no content type)'}  {body}"


def retry_after(value: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())
