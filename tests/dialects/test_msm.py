"""``msm``: each behaviour docs/dialects.md cites from the MSM/DreamPanel family's api.php, replayed
against the mock speaking it (a real uvicorn server on loopback, a real httpx client)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockpanel import ServerThread, VirtualClock, build_panel, create_app
from tests.helpers.broken_panels import START

KEY = "Msm-Key-0001"
POOR = "Msm-Poor-0002"
LINK = "https://instagram.com/msm_user"


@pytest.fixture(scope="module")
def msm() -> Iterator[tuple[httpx.Client, str]]:
    panel = build_panel("msm", clock=VirtualClock(speed=0, start=START), seed=1)
    panel.create_account(KEY, balance="50")
    panel.create_account(POOR, balance="1")
    with ServerThread(create_app(panel, "msm")) as server, httpx.Client(timeout=10) as http:
        yield http, server.url + "/api/v2"


def call(http: httpx.Client, url: str, **fields: str) -> Any:
    answer = http.post(url, data={"key": KEY, **fields})
    assert answer.headers["content-type"] == "application/json"
    return answer.json()


def test_keys_balance_and_a_request_without_key_or_action(msm) -> None:
    http, url = msm
    assert call(http, url, action="balance") == {"balance": "50.0000", "currency": "USD"}
    assert "balance" in call(http, url, key=KEY.upper() + " ", action="balance")  # the column's collation
    assert call(http, url, key="nobody", action="balance") == {"error": "API key is incorrect", "status": "102"}
    assert http.post(url, data={"action": "balance"}).json() == {"error": "Incorrect request"}
    assert call(http, url) == {"error": "Incorrect request"}


@pytest.mark.parametrize("action", ["refill", "refill_status", "cancel", "mockpanel_nothing", " "])
def test_an_action_it_lacks_answers_null(msm, action: str) -> None:
    http, url = msm
    answer = http.post(url, data={"key": KEY, "action": action, "order": "1"})
    assert (answer.status_code, answer.content) == (200, b"null")


def test_services_are_strings_and_its_five_type_names(msm) -> None:
    http, url = msm
    services = call(http, url, action="services")
    assert list(services[0]) == ["rate", "service", "category", "name", "type", "min", "max"]
    assert all(isinstance(v, str) for s in services for v in s.values())
    assert {s["type"] for s in services} <= {"Default", "Package", "Custom Comments", "Custom Comments Package", "Subscriptions"}


def test_an_order_its_status_and_a_batch_that_is_not_read(msm) -> None:
    http, url = msm
    placed = call(http, url, action="add", service="1", link=LINK, quantity="100")
    assert list(placed) == ["status", "order"] and placed["status"] == 100 and isinstance(placed["order"], str)
    order = placed["order"]
    assert call(http, url, action="status", order=order) == {
        "charge": "0.0900", "start_count": "0", "status": "Pending", "remains": "0", "currency": "USD"}
    assert call(http, url, action="status", orders=f"{order},{order}") == {"error": "Order not found.", "status": "104"}
    assert call(http, url, action="status", order="999999") == {"error": "Order not found.", "status": "104"}


@pytest.mark.parametrize("fields, body", [
    ({"service": "1", "link": LINK}, {"error": "You must fill in the required fields.", "status": 107}),
    ({"service": "1", "link": LINK, "quantity": "1"}, {"error": "You did not meet the minimum number.", "status": 108}),
    ({"service": "1", "link": LINK, "quantity": "99999999"}, {"error": "The maximum number has been exceeded.", "status": 109}),
    ({"key": POOR, "service": "1", "link": LINK, "quantity": "10000"}, {"error": "You have insufficient balance", "status": 113}),
    ({"service": "999", "link": LINK, "quantity": "100"}, {"error": "Service is inactive or not found", "status": "105"}),
])
def test_refused_adds_carry_the_scripts_status_codes(msm, fields: dict[str, str], body: dict[str, Any]) -> None:
    http, url = msm
    assert call(http, url, action="add", **fields) == body
