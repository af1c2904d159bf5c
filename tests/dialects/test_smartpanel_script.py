"""``smartpanel-script``: each behaviour docs/dialects.md cites from the SmartPanel script's code, replayed
against the mock speaking it (a real uvicorn server on loopback, a real httpx client). The profile fields
it uses are data any profile may use: tests/dialects/test_profile_quirks.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockpanel import ServerThread, VirtualClock, build_panel, create_app
from mockpanel._panel.panel import Panel
from tests.helpers.broken_panels import START

KEY = "Script-Key-0001"  # mixed case: stored so, sent in any case
LINK = "https://instagram.com/script_user"
MISSING = "There are missing required parameters. Please check your API Manual"


@pytest.fixture(scope="module")
def script() -> Iterator[tuple[Panel, httpx.Client, str]]:
    panel = build_panel("smartpanel-script", clock=VirtualClock(speed=0, start=START), seed=1)
    panel.create_account(KEY, balance="100")
    with ServerThread(create_app(panel, "smartpanel-script")) as server, httpx.Client(timeout=10) as http:
        yield panel, http, server.url + "/api/v1"


def post(http: httpx.Client, url: str, **fields: str) -> httpx.Response:
    return http.post(url, data={"key": KEY, **fields})


def call(http: httpx.Client, url: str, **fields: str) -> Any:
    return post(http, url, **fields).json()


def test_answers_are_text_html_and_services_have_a_null_desc_where_they_have_none(script) -> None:
    _panel, http, url = script
    answer = post(http, url, action="services")
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.content[:1] == b"["  # no newline first: no public line of the copy shows one (docs/dialects.md)
    services = answer.json()
    assert all(s["desc"] is None for s in services)  # the default catalogue's services have no description
    assert all(isinstance(v, str) for s in services for k, v in s.items() if k != "desc")


def test_the_service_id_is_read_as_mysql_casts_it(script) -> None:
    panel, http, url = script
    placed = call(http, url, action="add", service="1abc", link=LINK + "/cast", quantity="100")
    assert placed["status"] == "success"
    assert panel.find_order(placed["order"]).service.id == 1
    assert call(http, url, action="add", service="abc", link=LINK, quantity="100") == {"error": "Service ID does not exists"}
    assert call(http, url, action="add", service="1.5", link=LINK, quantity="100") == {"error": "Service ID does not exists"}


def test_a_quantity_is_read_as_php_reads_a_numeric_string(script) -> None:
    panel, http, url = script
    for sent in ("1e2", " 100 ", "100.0"):
        placed = call(http, url, action="add", service="3", link=f"{LINK}/php/{sent.strip()}", quantity=sent)
        assert placed["status"] == "success", (sent, placed)
        assert panel.find_order(placed["order"]).quantity == 100  # charged for 100, as the script charges "1e2"
    # "12.5" the script takes too (api.php L231, L249); the mock's quantities are whole numbers: refused.
    assert call(http, url, action="add", service="3", link=LINK, quantity="12.5") == {"error": "Invalid quantity"}


@pytest.mark.parametrize("fields, words", [
    ({"link": LINK, "quantity": "100"}, MISSING),  # no service
    ({"service": "1", "quantity": "100"}, "Bad Link"),
    ({"service": "1", "link": LINK}, "Quantity is required"),
    ({"service": "5", "link": LINK}, "Quantity is required"),  # a package too
    ({"service": "7", "link": LINK, "comments": "one\ntwo"}, "Quantity is required"),  # a comments package too
    ({"service": "1", "link": LINK, "quantity": "100", "runs": "2"}, "Interval time is required"),
])
def test_missing_fields_have_the_scripts_words(script, fields: dict[str, str], words: str) -> None:
    _panel, http, url = script
    assert call(http, url, action="add", **fields) == {"error": words}


def test_a_package_is_placed_with_a_quantity_and_charged_its_price(script) -> None:
    _panel, http, url = script
    before = call(http, url, action="balance")["balance"]
    placed = call(http, url, action="add", service="5", link=LINK + "/package", quantity="3")
    assert placed["status"] == "success"
    after = call(http, url, action="balance")["balance"]
    assert float(before) - float(after) == pytest.approx(5.50)  # flat: the quantity is asked for, not counted


def test_an_interval_off_the_list_answers_status_error_and_a_message(script) -> None:
    _panel, http, url = script
    answer = call(http, url, action="add", service="1", link=LINK + "/drip", quantity="100", runs="2", interval="7")
    assert answer == {"status": "error", "message": "Invalid Interval in minutes"}


def test_a_pending_order_shows_start_count_null_and_the_order_echoed(script) -> None:
    panel, http, url = script
    order = call(http, url, action="add", service="3", link=LINK + "/pending", quantity="100")["order"]
    status = call(http, url, action="status", order=str(order))
    assert status == {"order": str(order), "status": "Pending", "charge": "0.0250", "start_count": None,
                      "remains": "0", "currency": "USD"}
    panel.set_order(order, status="In progress", start_count=42)
    assert call(http, url, action="status", order=str(order))["start_count"] == "42"
    batch = call(http, url, action="status", orders=f"{order},999999")
    assert batch[str(order)]["start_count"] == "42" and batch["999999"] == "Incorrect order ID"


def test_comments_are_split_on_its_separator_as_well_as_new_lines(script) -> None:
    panel, http, url = script
    comments = " | ".join(f"nice {i}" for i in range(8)) + "\nnice 8\r\nnice 9"  # ten comments
    placed = call(http, url, action="add", service="2", link=LINK + "/comments", comments=comments)
    assert placed["status"] == "success"
    assert panel.find_order(placed["order"]).quantity == 10  # service 2 takes at least 10


def test_a_drip_feed_order_shows_its_status_runs_and_orders_only(script) -> None:
    _panel, http, url = script
    placed = call(http, url, action="add", service="1", link=LINK + "/drip", quantity="50", runs="2", interval="5")
    order = str(placed["order"])
    assert call(http, url, action="status", order=order) == {"status": "Pending", "runs": "2", "orders": []}
    plain = call(http, url, action="add", service="3", link=LINK + "/plain", quantity="100")["order"]
    batch = call(http, url, action="status", orders=f"{order},{plain}")
    assert batch[order] == {"status": "Pending", "runs": "2", "orders": []}
    assert set(batch[str(plain)]) == {"order", "status", "charge", "start_count", "remains", "currency"}


@pytest.mark.parametrize("fields", [{}, {"order": ""}, {"orders": ""}, {"order": "", "orders": ""}])
def test_a_status_without_an_id_answers_an_empty_body(script, fields: dict[str, str]) -> None:
    _panel, http, url = script
    answer = post(http, url, action="status", **fields)
    assert (answer.status_code, answer.content) == (200, b"")


@pytest.mark.parametrize("sent, accepted", [
    (KEY, True), (KEY.lower(), True), (KEY.upper(), True), (KEY.swapcase() + "  ", True), (KEY + " ", True),
    (" " + KEY, False), (KEY + "\t", False), (KEY[:-1], False),
])
def test_keys_are_compared_as_mysqls_collation_compares_them(script, sent: str, accepted: bool) -> None:
    _panel, http, url = script
    answer = http.post(url, data={"key": sent, "action": "balance"}).json()
    assert ("balance" in answer) is accepted, (sent, answer)
