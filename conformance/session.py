"""The one door to the panel: rate limit, request budget, bounded answers, spend cap, redaction.

Every request of the suite goes through ``Session.send``. It is where the safety
rules hold, whatever a check asks for:

- the read-only tier sends only what the action table (actions.py) says reads: an allow-list, so a
  write action, or any word the table does not know, is refused before sending (``SafetyError``);
- every ``add`` declares its worst case at the listed price (a positive amount, or
  it is not sent) and is refused *before sending* if the committed total (what the
  panel has actually taken, read from its balance and the charges it reports, or
  the plan's worst cases if more, plus this add) would pass ``--max-spend``
  (``SpendCapReached``); once the panel has taken more than the plan said, no
  further add is sent (``Overcharged``: _spend.py);
- requests are spaced by the rate limit; a 429 is waited out (Retry-After);
- the request budget stops the run cleanly (``BudgetExhausted``);
- ``--timeout`` covers a whole answer and ``--max-answer-bytes`` its size (_wire.py);
- what is recorded (the trace, the reports) never holds a key (redaction.py);
- no cookie is kept: a panel's session cookie never rides along with another key's request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from decimal import Decimal
from typing import Any, Callable

import httpx

from .actions import PROBE_PREFIX, read_actions, read_only_may_send
from ._json_text import read_json
from ._exchange import BODY_LIMIT, MAX_DEPTH, NOT_JSON, USER_AGENT, Exchange, depth, normalize_action, retry_after
from .redaction import Redactor, redact
from ._spend import Overcharge, SpendLedger, amount, valid_cost
from ._wire import DEFAULT_MAX_ANSWER_BYTES, Answer, AnswerError, Deadline, DeadlineTransport, fetch

__all__ = ["BODY_LIMIT", "NOT_JSON", "USER_AGENT", "Exchange", "Overcharge", "Redactor",
           "normalize_action", "redact", "retry_after"]

class StopRun(Exception):
    """The run cannot go on (budget, rate limit); what was not reached is 'not exercised'."""


class BudgetExhausted(StopRun):
    pass


class RateLimited(StopRun):
    pass


class SpendCapReached(Exception):
    """An add was not sent: it could have taken the spend past --max-spend."""


class Overcharged(StopRun):
    """The panel took more than the plan said: no further add is sent."""


class SafetyError(RuntimeError):
    """A check asked for a request its tier forbids. A bug in the suite, never sent."""


@dataclass
class SessionConfig:
    url: str
    tier: str = "read-only"
    rate: float = 2.0  # requests per second; 0: no limit
    max_requests: int = 2000
    timeout: float = 20.0  # seconds for a whole answer, connect to last byte
    max_spend: Decimal = Decimal(0)
    max_retry_after: float = 60.0
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES
    balance_unit: Decimal = Decimal("0.01")  # the balance's rounding, for the overcharge check
    charge_unit: Decimal = Decimal("0.01")


def _balance_field(exchange: Exchange) -> Decimal | None:
    return amount(exchange.data.get("balance")) if isinstance(exchange.data, dict) else None


def _error_field(exchange: Exchange) -> bool:
    return isinstance(exchange.data, dict) and "error" in exchange.data


def order_id(data: Any) -> str | None:
    """The order id an add's answer hands out, if it is one the run can follow (a number or a word)."""
    value = data.get("order") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip():
        return None
    return str(value).strip()


def is_action_field(name: str) -> bool:
    """``action[]``, ``action[0]``…: a field a PHP panel reads as the action itself."""
    return name.replace(" ", "").lower().startswith("action[")


def no_cookies() -> CookieJar:
    """A cookie jar that keeps nothing. The API is keyed by ``key`` alone, as a server-to-server client
    calls it: a session cookie a panel sets is never sent back, so it cannot carry one key's session into
    another key's requests (or a wrong key's). (httpx uses a CookieJar it is given as it is.)"""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


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
        self.spend = SpendLedger(unit=config.balance_unit, charge_unit=config.charge_unit)
        self.accounts: list[str] = []  # the real keys whose balances the spend check follows
        self.balance_of: Callable[[Exchange], Decimal | None] = _balance_field  # the dialect's reading
        self.cannot_follow: str | None = None  # why the money taken can no longer be read
        self.refused: Callable[[Exchange], bool] = _error_field  # an answer is a refusal (the dialect's reading)
        self.on_overcharge: Callable[[Overcharge], None] | None = None  # told once, as soon as it shows
        self._told = False
        self._sleep = sleep
        self._last = 0.0
        self._deadline = Deadline()
        self._client = httpx.Client(
            transport=transport or DeadlineTransport(self._deadline),
            timeout=config.timeout,
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
            cookies=no_cookies(),
        )

    def close(self) -> None:
        self._client.close()

    # --- the guard -------------------------------------------------------------------

    @property
    def committed(self) -> Decimal:
        """The larger of what the panel took and the worst cases of the adds sent."""
        return self.spend.committed

    @property
    def adds_sent(self) -> int:
        return self.spend.adds

    @property
    def overcharge(self) -> Overcharge | None:
        return self.spend.overcharge

    def follow(self, key: str | None) -> None:
        """Follow this key's balance for the spend cap (the run's real keys)."""
        if key and key not in self.accounts:
            self.accounts.append(key)

    def remaining_spend(self) -> Decimal:
        return self.config.max_spend - self.committed

    def can_spend(self, cost: Any) -> bool:
        return (self.config.tier == "orders" and valid_cost(cost) and self.spend.check() is None
                and self.cannot_follow is None and self.committed + cost <= self.config.max_spend)

    def _guard(self, params: dict[str, str], cost: Decimal | None, accounting: bool = False) -> None:
        action = normalize_action(params.get("action"))
        # action[]=… is the action to a PHP panel: every field that may be read as the action is held to the rule.
        read_as_action = [action] + [normalize_action(v) for k, v in params.items() if is_action_field(k)]
        refused = next((a for a in read_as_action if not read_only_may_send(a)), None)
        if self.config.tier != "orders" and refused is not None:
            raise SafetyError(
                f"the {self.config.tier} tier never sends action={refused!r}: it sends only the read actions "
                f"({', '.join(read_actions())}), no action, or the suite's own probes ({PROBE_PREFIX}…); "
                "an action the table does not know to read may be a write (conformance/actions.py)")
        if action == "add":
            if cost is None:
                raise SafetyError("every add must declare its worst-case cost")
            if self.spend.check() is not None:
                raise Overcharged(self.spend.overcharge.message())  # type: ignore[union-attr]
            if not valid_cost(cost):
                raise SpendCapReached(f"an add whose worst case is {cost!r}, not a positive amount, is never sent")
            if self.cannot_follow is not None:
                raise SpendCapReached(f"no add is sent: {self.cannot_follow}")
            if not self.can_spend(cost):
                raise SpendCapReached(
                    f"an add that could cost {cost} would take the spend past --max-spend "
                    f"{self.config.max_spend} (committed so far: {self.committed})"
                )
        if not accounting and self.sent >= self.config.max_requests:
            raise BudgetExhausted(f"the request budget ({self.config.max_requests} requests) is spent")

    def _pace(self) -> None:
        if self.config.rate > 0:
            gap = 1.0 / self.config.rate
            wait = self._last + gap - time.monotonic()
            if wait > 0:
                self._sleep(wait)
        self._last = time.monotonic()

    # --- the money taken -------------------------------------------------------------

    def _read_balance(self, key: str) -> Decimal | None:
        """The read-only balance of ``key``, for the spend check; None if it cannot be read."""
        try:
            ex = self.send({"key": key, "action": "balance"}, accounting=True)
        except StopRun:
            return None
        try:
            return self.balance_of(ex)
        except Exception:  # noqa: BLE001 - a reading that fails is no reading
            return None

    def _before_add(self, key: str) -> None:
        for account in self.accounts:  # every followed key: a panel may charge the wrong account
            if account not in self.spend.opening:
                value = self._read_balance(account)
                if value is None:
                    self.cannot_follow = (f"the balance of {self.redactor.value(account)} could not be read, so the "
                                          "money the panel takes could not be followed")
                    raise SpendCapReached(f"no add is sent: {self.cannot_follow}")
                self.spend.open(account, value)

    def _after_add(self, exchange: Exchange, cost: Decimal) -> None:
        placed = order_id(exchange.data)
        if placed is not None:
            self.spend.placed(placed, cost)
        elif exchange.error or not self.refused(exchange):
            # The panel may have placed an order the run cannot follow (no id, no answer): one such add, no more.
            what = f"no answer ({exchange.error})" if exchange.error else f"{exchange.body[:80]!r}"
            self.cannot_follow = self.cannot_follow or (
                f"an add was answered {what}: neither an order id nor a refusal, so what it placed cannot be "
                "followed; no further add is sent")
        for account in list(self.spend.opening):
            value = self._read_balance(account)
            if value is None:
                self.cannot_follow = (f"the balance of {self.redactor.value(account)} could not be read after an "
                                      "add, so the money the panel takes could not be followed")
                continue
            self.spend.balance(account, value)

    def _account(self, exchange: Exchange, params: dict[str, str]) -> None:
        """Any answer that shows money: a balance, the charges of our orders."""
        action = normalize_action(params.get("action"))
        key = params.get("key", "")
        if action == "balance" and key in self.spend.opening and exchange.is_json:
            try:
                value = self.balance_of(exchange)
            except Exception:  # noqa: BLE001
                value = None
            if value is not None:
                self.spend.balance(key, value)
        elif action == "status" and exchange.is_json:
            self.spend.status_answer(params, exchange.data)

    # --- sending -----------------------------------------------------------------------

    def send(
        self,
        params: dict[str, str],
        *,
        cost: Decimal | None = None,
        keys: tuple[str, ...] = (),
        method: str = "POST",
        accounting: bool = False,
    ) -> Exchange:
        """Send one API request (form-encoded POST) and record it, keys redacted.

        ``cost`` is the worst case an ``add`` could charge; ``keys`` are secrets to
        hide from now on (the ``key`` field itself is always shown redacted).
        ``accounting``: a balance read of the spend check, outside the request budget.
        """
        for k in keys:
            self.redactor.add(k)
        is_add = normalize_action(params.get("action")) == "add"
        retries = 0
        while True:
            self._guard(params, cost, accounting)  # again before a retry: a retried add counts again
            if is_add:
                self._before_add(str(params.get("key", "")))
            self._pace()
            if is_add:
                assert cost is not None
                self.spend.sent(cost)  # counted per send: a retried add counts again
            self.sent += 1
            started = time.perf_counter()
            answer: Answer | None = None
            error = None
            try:
                answer = fetch(self._client, self._deadline, method, self.config.url, data=params,
                               timeout=self.config.timeout, max_bytes=self.config.max_answer_bytes)
                error = answer.error
            except AnswerError as exc:
                error = self.redactor(str(exc)) or "connection failed"
            elapsed = time.perf_counter() - started
            if answer is not None and answer.status_code == 429 and retries < 3:
                wait = retry_after(answer.headers.get("retry-after"), default=2.0 * (retries + 1))
                if wait > self.config.max_retry_after:
                    self._record(method, params, answer, error, elapsed, retries)
                    raise RateLimited(
                        f"the panel asked to wait {wait:g} s (Retry-After), more than "
                        f"{self.config.max_retry_after:g} s"
                    )
                retries += 1
                self._record(method, params, answer, error, elapsed, retries)
                self._sleep(wait)
                continue
            exchange = self._record(method, params, answer, error, elapsed, retries)
            if is_add:
                assert cost is not None
                self._after_add(exchange, cost)
            else:
                self._account(exchange, params)
            if self.spend.overcharge is not None and not self._told:
                self._told = True
                if self.on_overcharge is not None:
                    self.on_overcharge(self.spend.overcharge)
            if answer is not None and answer.status_code == 429:
                raise RateLimited("the panel kept answering 429 Too Many Requests after 3 waits")
            return exchange

    def _record(
        self,
        method: str,
        params: dict[str, str],
        answer: Answer | None,
        error: str | None,
        elapsed: float,
        retries: int,
    ) -> Exchange:
        red = self.redactor
        shown = {name: (red.value(value) if name == "key" else red(value)) for name, value in params.items()}
        status = content_type = None
        body = ""
        data: Any = NOT_JSON
        defect: str | None = None
        if answer is not None:
            status = answer.status_code
            content_type = answer.headers.get("content-type", "")
            raw = answer.content
            if answer.error is None:
                data, defect = read_json(raw)
                if data is not NOT_JSON and depth(data) > MAX_DEPTH:  # read no further: nothing recurses into it
                    data, defect = NOT_JSON, None
                    error = f"the answer is JSON nested deeper than {MAX_DEPTH} levels; not read"
            text = raw[: BODY_LIMIT * 4].decode("utf-8", errors="replace")
            cut = len(text) > BODY_LIMIT or len(raw) > BODY_LIMIT * 4
            body = red(text[:BODY_LIMIT] + ("…" if cut else ""))
            if data is not NOT_JSON and red.keys:
                data = red.data(data)  # a panel that echoes a key: keep it out
        location = red(answer.headers.get("location", "")) if answer is not None else ""
        exchange = Exchange(
            location=location,
            n=len(self.trace) + 1,
            method=method,
            url=red(self.config.url),
            params=shown,
            status=status,
            content_type=red(content_type or ""),
            body=body,
            elapsed=elapsed,
            error=error,
            retries=retries,
            data=data,
            json_defect=red(defect) if defect else None,
        )
        self.trace.append(exchange)
        return exchange

    def get(self, url: str) -> Answer:
        """A plain request outside the API (the mock's control API), bounded like the rest; not traced."""
        return self._plain("GET", url)

    def post_json(self, url: str, payload: dict[str, Any]) -> Answer:
        return self._plain("POST", url, json=payload)

    def _plain(self, method: str, url: str, **kwargs: Any) -> Answer:
        try:
            return fetch(self._client, self._deadline, method, url, timeout=self.config.timeout,
                         max_bytes=min(self.config.max_answer_bytes, 1024 * 1024), **kwargs)
        except AnswerError as exc:
            raise StopRun(f"the control API at {self.redactor(url)} did not answer: {self.redactor(str(exc))}") from None
