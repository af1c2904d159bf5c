"""The one door to the panel: rate limit, request budget, timeouts, spend cap, redaction.

Every request of the suite goes through ``Session.send``. It is where the safety
rules hold, whatever a check asks for:

- the read-only tier never sends ``add``, ``refill`` or ``cancel`` (``SafetyError``);
- every ``add`` declares what it could cost if the panel accepted it, and is
  refused *before sending* if that would take the committed spend past
  ``--max-spend`` (``SpendCapReached``);
- requests are spaced by the rate limit; a 429 is waited out (Retry-After);
- the request budget stops the run cleanly (``BudgetExhausted``);
- what is recorded (the trace, the reports) never holds a key: each key sent is
  replaced by ``redact(key)`` in parameters, URLs and bodies.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

import httpx
import orjson

from mockpanel.domain.accounts import redact

WRITE_ACTIONS = frozenset({"add", "refill", "cancel"})
BODY_LIMIT = 4000  # characters of a response kept in the trace
USER_AGENT = "mockpanel-conformance/0.1 (+https://github.com/mockpanel)"


class StopRun(Exception):
    """The run cannot go on (budget, rate limit); what was not reached is 'not exercised'."""


class BudgetExhausted(StopRun):
    pass


class RateLimited(StopRun):
    pass


class SpendCapReached(Exception):
    """An add was not sent: it could have taken the spend past --max-spend."""


class SafetyError(RuntimeError):
    """A check asked for a request its tier forbids. A bug in the suite, never sent."""


def normalize_action(value: object) -> str:
    return str(value or "").strip().lower()


class Redactor:
    """Replaces every key the suite has sent with its redacted form."""

    def __init__(self) -> None:
        self._keys: dict[str, str] = {}

    def add(self, key: str | None) -> None:
        """Register a real key; the near-copies the auth checks send are hidden too."""
        if not key or len(key) < 4:  # too short to hide without mangling every text
            return
        for variant in (key, key[:-1], key[1:], key.swapcase()):
            if len(variant) >= 4:
                self._keys.setdefault(variant, redact(variant))

    def __call__(self, text: str) -> str:
        for key in sorted(self._keys, key=len, reverse=True):
            if key in text:
                text = text.replace(key, self._keys[key])
        return text

    def value(self, key: str) -> str:
        if key == "":
            return "(empty)"
        return redact(key)


NOT_JSON: Any = object()


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


@dataclass
class SessionConfig:
    url: str
    tier: str = "read-only"
    rate: float = 2.0  # requests per second; 0: no limit
    max_requests: int = 2000
    timeout: float = 20.0
    max_spend: Decimal = Decimal(0)
    max_retry_after: float = 60.0


class Session:
    def __init__(
        self,
        config: SessionConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.redactor = Redactor()
        self.trace: list[Exchange] = []
        self.sent = 0
        self.committed = Decimal(0)  # worst-case cost of every add sent
        self.adds_sent = 0
        self._sleep = sleep
        self._last = 0.0
        self._client = httpx.Client(
            transport=transport,
            timeout=config.timeout,
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
        )

    def close(self) -> None:
        self._client.close()

    # --- the guard -------------------------------------------------------------------

    def remaining_spend(self) -> Decimal:
        return self.config.max_spend - self.committed

    def can_spend(self, cost: Decimal) -> bool:
        return self.config.tier == "orders" and self.committed + cost <= self.config.max_spend

    def _guard(self, params: dict[str, str], cost: Decimal | None) -> None:
        action = normalize_action(params.get("action"))
        if action in WRITE_ACTIONS and self.config.tier != "orders":
            raise SafetyError(f"the {self.config.tier} tier never sends action={action}")
        if action == "add":
            if cost is None:
                raise SafetyError("every add must declare its worst-case cost")
            if not self.can_spend(cost):
                raise SpendCapReached(
                    f"an add that could cost {cost} would take the spend past --max-spend "
                    f"{self.config.max_spend} (committed so far: {self.committed})"
                )
        if self.sent >= self.config.max_requests:
            raise BudgetExhausted(f"the request budget ({self.config.max_requests} requests) is spent")

    def _pace(self) -> None:
        if self.config.rate > 0:
            gap = 1.0 / self.config.rate
            wait = self._last + gap - time.monotonic()
            if wait > 0:
                self._sleep(wait)
        self._last = time.monotonic()

    # --- sending -----------------------------------------------------------------------

    def send(
        self,
        params: dict[str, str],
        *,
        cost: Decimal | None = None,
        keys: tuple[str, ...] = (),
        method: str = "POST",
    ) -> Exchange:
        """Send one API request (form-encoded POST) and record it, keys redacted.

        ``cost`` is the worst case an ``add`` could charge; ``keys`` are secrets to
        hide from now on (the ``key`` field itself is always shown redacted).
        """
        for k in keys:
            self.redactor.add(k)
        retries = 0
        while True:
            self._guard(params, cost)  # again before a retry: a retried add counts again
            self._pace()
            if normalize_action(params.get("action")) == "add":
                assert cost is not None
                self.committed += cost  # counted per send: a retried add counts again
                self.adds_sent += 1
            self.sent += 1
            started = time.perf_counter()
            response: httpx.Response | None = None
            error = None
            try:
                response = self._client.request(method, self.config.url, data=params)
            except httpx.TimeoutException:
                error = f"timed out after {self.config.timeout:g} s"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {self.redactor(str(exc)) or 'connection failed'}"
            elapsed = time.perf_counter() - started
            if response is not None and response.status_code == 429 and retries < 3:
                wait = retry_after(response.headers.get("retry-after"), default=2.0 * (retries + 1))
                if wait > self.config.max_retry_after:
                    raise RateLimited(
                        f"the panel asked to wait {wait:g} s (Retry-After), more than "
                        f"{self.config.max_retry_after:g} s"
                    )
                retries += 1
                self._record(method, params, response, error, elapsed, retries)
                self._sleep(wait)
                continue
            exchange = self._record(method, params, response, error, elapsed, retries)
            if response is not None and response.status_code == 429:
                raise RateLimited("the panel kept answering 429 Too Many Requests after 3 waits")
            return exchange

    def _record(
        self,
        method: str,
        params: dict[str, str],
        response: httpx.Response | None,
        error: str | None,
        elapsed: float,
        retries: int,
    ) -> Exchange:
        shown = {
            name: (self.redactor.value(value) if name == "key" else self.redactor(value))
            for name, value in params.items()
        }
        status = content_type = None
        body = ""
        data: Any = NOT_JSON
        if response is not None:
            status = response.status_code
            content_type = response.headers.get("content-type", "")
            raw = response.content
            try:
                data = orjson.loads(raw) if raw.strip() else NOT_JSON
            except orjson.JSONDecodeError:
                data = NOT_JSON
            text = raw.decode("utf-8", errors="replace")
            body = self.redactor(text[:BODY_LIMIT] + ("…" if len(text) > BODY_LIMIT else ""))
            if data is not NOT_JSON and any(k in text for k in self.redactor._keys):
                data = orjson.loads(self.redactor(text))  # a panel that echoes a key: keep it out
        location = self.redactor(response.headers.get("location", "")) if response is not None else ""
        exchange = Exchange(
            location=location,
            n=len(self.trace) + 1,
            method=method,
            url=self.redactor(self.config.url),
            params=shown,
            status=status,
            content_type=content_type or "",
            body=body,
            elapsed=elapsed,
            error=error,
            retries=retries,
            data=data,
        )
        self.trace.append(exchange)
        return exchange

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """A plain request outside the API (the mock's control API); not traced."""
        return self._client.get(url, **kwargs)

    def post_json(self, url: str, payload: dict[str, Any]) -> httpx.Response:
        return self._client.post(url, json=payload)


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
