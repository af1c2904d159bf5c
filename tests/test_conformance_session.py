"""The session is the one door to the panel: tiers, spend cap, 429s, budget, redaction."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from mockpanel.conformance.session import (
    BudgetExhausted, RateLimited, SafetyError, Session, SessionConfig, SpendCapReached, retry_after,
)
from mockpanel.domain.accounts import redact

KEY = "live-panel-key-0123456789abcdef"


class Panel:
    """A fake panel transport: records what reached it, answers from a script."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.seen: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        from urllib.parse import parse_qsl

        self.seen.append(dict(parse_qsl(request.content.decode())))
        return self.answers.pop(0) if self.answers else httpx.Response(200, json={"balance": "1.00000", "currency": "USD"})


def session(panel: Panel, sleeps: list[float] | None = None, **config: object) -> Session:
    cfg = SessionConfig(url="https://panel.example/api/v2", rate=0, **config)  # type: ignore[arg-type]
    s = Session(cfg, transport=httpx.MockTransport(panel), sleep=(sleeps.append if sleeps is not None else lambda _: None))
    s.redactor.add(KEY)
    return s


@pytest.mark.parametrize("action", ["add", "refill", "cancel", " ADD ", "Cancel", "refill\n"])
def test_read_only_never_sends_a_write_action(action: str) -> None:
    panel = Panel()
    s = session(panel)
    with pytest.raises(SafetyError):
        s.send({"key": KEY, "action": action, "orders": "1"}, cost=Decimal(0))
    assert panel.seen == [] and s.sent == 0


def test_every_add_declares_its_cost_and_is_refused_before_sending_past_the_cap() -> None:
    panel = Panel(*(httpx.Response(200, json={"order": n}) for n in range(1, 5)))
    s = session(panel, tier="orders", max_spend=Decimal("0.10"))
    with pytest.raises(SafetyError):
        s.send({"key": KEY, "action": "add", "service": "1"})
    s.send({"key": KEY, "action": "add", "service": "1"}, cost=Decimal("0.06"))
    with pytest.raises(SpendCapReached):
        s.send({"key": KEY, "action": "add", "service": "1"}, cost=Decimal("0.05"))
    s.send({"key": KEY, "action": "add", "service": "1"}, cost=Decimal("0.04"))  # exactly at the cap
    assert len(panel.seen) == 2 and s.committed == Decimal("0.10") and s.remaining_spend() == 0
    assert not s.can_spend(Decimal("0.00001"))


def test_a_429_is_waited_out_as_retry_after_says_and_a_retried_add_counts_twice() -> None:
    panel = Panel(httpx.Response(429, headers={"retry-after": "3"}), httpx.Response(200, json={"order": 7}))
    sleeps: list[float] = []
    s = session(panel, sleeps, tier="orders", max_spend=Decimal("1"))
    ex = s.send({"key": KEY, "action": "add", "service": "1"}, cost=Decimal("0.30"))
    assert ex.status == 200 and ex.data == {"order": 7} and ex.retries == 1
    assert sleeps == [3.0]
    assert s.committed == Decimal("0.60")  # the cap holds even if the 429 was a lie
    assert [e.status for e in s.trace] == [429, 200]


def test_a_panel_that_keeps_answering_429_stops_the_run() -> None:
    s = session(Panel(*(httpx.Response(429) for _ in range(5))), [])
    with pytest.raises(RateLimited):
        s.send({"key": KEY, "action": "balance"})
    s = session(Panel(httpx.Response(429, headers={"retry-after": "3600"})), [])
    with pytest.raises(RateLimited, match="3600"):
        s.send({"key": KEY, "action": "balance"})


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("5", 1.0) == 5.0
    assert retry_after(None, 1.5) == 1.5
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 2.0) == 0.0  # in the past
    assert retry_after("soon", 2.0) == 2.0


def test_the_request_budget_stops_the_run() -> None:
    s = session(Panel(), max_requests=3)
    for _ in range(3):
        s.send({"key": KEY, "action": "balance"})
    with pytest.raises(BudgetExhausted):
        s.send({"key": KEY, "action": "balance"})


def test_requests_are_spaced_by_the_rate_limit() -> None:
    sleeps: list[float] = []
    s = Session(SessionConfig(url="https://panel.example/api/v2", rate=4), transport=httpx.MockTransport(Panel()),
                sleep=sleeps.append)
    for _ in range(3):
        s.send({"key": KEY, "action": "balance"})
    assert len(sleeps) == 2 and all(0.2 < w <= 0.25 for w in sleeps)


def test_timeouts_are_recorded_not_raised() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    s = Session(SessionConfig(url="https://panel.example/api/v2", rate=0, timeout=0.5), transport=httpx.MockTransport(slow))
    ex = s.send({"key": KEY, "action": "balance"})
    assert ex.status is None and "timed out after 0.5 s" in (ex.error or "")


def test_keys_and_their_near_copies_never_reach_the_trace() -> None:
    echo = httpx.Response(200, json={"balance": "1.00000", "currency": "USD", "api_key": KEY, "hint": KEY[:-1]})
    s = session(Panel(echo, httpx.Response(200, json={"error": "Invalid API key"})))
    ex = s.send({"key": KEY, "action": "balance"})
    wrong = s.send({"key": KEY.swapcase(), "action": "balance"})
    text = repr([e.to_dict() for e in s.trace]) + repr(ex.data)
    for secret in (KEY, KEY[:-1], KEY.swapcase()):
        assert secret not in text
    assert ex.params["key"] == redact(KEY) and redact(KEY) in ex.body
    assert wrong.params["key"] == redact(KEY.swapcase())
