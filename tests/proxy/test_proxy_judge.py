"""The proxy's judge reads each answer once: a deviation of the answer itself is found once, whichever
action's checks then read it (single status, multi-status, refill status, balance, services)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from conformance.profile import load_dialect
from mockpanel._proxy.journal import ForwardedExchange
from mockpanel._proxy.judge import TrafficJudge

STATUS = {"charge": "0.90000", "start_count": "10", "status": "Pending", "remains": "1000", "currency": "USD"}


def exchange(params: dict[str, str], answer: Any) -> ForwardedExchange:
    """An exchange the panel answered with JSON sent as text/html (V2-GEN-07)."""
    return ForwardedExchange(
        n=1, started=0.0, seconds=0.01, method="POST", url="http://127.0.0.1:9/api/v2",
        request_headers=[("content-type", "application/x-www-form-urlencoded")], request_body="", params=params,
        status=200, response_headers=[("content-type", "text/html")], response_body=json.dumps(answer))


@pytest.mark.parametrize("params, answer", [
    ({"action": "status", "order": "10001"}, STATUS),
    ({"action": "status", "orders": "10001,10002"}, {"10001": STATUS, "10002": STATUS}),
    ({"action": "refill_status", "refills": "1,2"}, [{"refill": 1, "status": "Completed"},
                                                      {"refill": 2, "status": "Pending"}]),
    ({"action": "balance"}, {"balance": "100.00000", "currency": "USD"}),
])
def test_an_answer_s_own_deviation_is_counted_once(params: dict[str, str], answer: Any) -> None:
    checks = TrafficJudge(load_dialect("standard")).judge(exchange({"key": "k", **params}, answer))
    counted = Counter(f.rid for f in checks.findings)
    assert counted["V2-GEN-07"] == 1, checks.findings
