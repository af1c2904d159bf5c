"""Python's usual HTTP clients against a real server, each the way integrators use it.

requests posts forms and sends GET query strings; urllib sends GET query strings;
httpx sends a JSON body (ints, lists). All must reach the same panel and see the
same answers.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from decimal import Decimal

import httpx
import requests

from mockpanel import Status
from tests.helpers.common import KEY

ADD = {"key": KEY, "action": "add", "service": "1", "quantity": "100"}


def test_requests_form_post_places_an_order_and_reads_it_back(live, panel):
    r = requests.post(live.url + "/api/v2", data={**ADD, "link": "https://clients.test/requests"}, timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    order = r.json()["order"]
    assert isinstance(order, int)
    assert panel.find_order(order).link == "https://clients.test/requests"
    status = requests.post(live.url + "/api/v2/", data={"key": KEY, "action": "status", "order": order}, timeout=10).json()
    assert status == {"charge": "0.09000", "start_count": "0", "status": "Pending", "remains": "100", "currency": "USD"}


def test_requests_get_query_string(live, panel):
    r = requests.get(live.url + "/api/v2", params={**ADD, "link": "https://clients.test/get?a=1&b=ü"}, timeout=10)
    order = r.json()["order"]
    assert panel.find_order(order).link == "https://clients.test/get?a=1&b=ü"
    panel.set_order(order, status="Completed")
    statuses = requests.get(live.url + "/api/v2", params={"key": KEY, "action": "status", "orders": f"{order},1"}, timeout=10).json()
    assert statuses[str(order)]["status"] == "Completed"
    assert statuses["1"] == {"error": "Incorrect order ID"}


def test_requests_session_keeps_the_connection_alive(live):
    with requests.Session() as session:
        answers = [session.post(live.url + "/api/v2", data={"key": KEY, "action": "balance"}, timeout=10).json() for _ in range(5)]
    assert answers == [{"balance": "100.00000", "currency": "USD"}] * 5


def test_urllib_get(live, panel):
    query = urllib.parse.urlencode({"key": KEY, "action": "balance"})
    with urllib.request.urlopen(f"{live.url}/api/v2?{query}", timeout=10) as response:
        assert response.status == 200
        body = json.loads(response.read())
    assert Decimal(body["balance"]) == panel.balance(KEY)[0] == Decimal(100)
    # And a service list, as scripts fetch it first.
    query = urllib.parse.urlencode({"key": KEY, "action": "services"})
    with urllib.request.urlopen(f"{live.url}/api/v2?{query}", timeout=10) as response:
        services = json.loads(response.read())
    assert [s["service"] for s in services] == [s.id for s in panel.catalog.listed()]


def test_urllib_post_form(live, panel):
    data = urllib.parse.urlencode({**ADD, "link": "https://clients.test/urllib"}).encode()
    with urllib.request.urlopen(urllib.request.Request(live.url + "/api/v2", data=data), timeout=10) as response:
        order = json.loads(response.read())["order"]
    assert panel.find_order(order).quantity == 100


def test_httpx_json_body_with_numbers_and_lists(live, panel):
    with httpx.Client(base_url=live.url, timeout=10) as client:
        placed = client.post("/api/v2", json={"key": KEY, "action": "add", "service": 1, "link": "https://clients.test/json",
                                              "quantity": 150})
        order = placed.json()["order"]
        assert panel.find_order(order).quantity == 150
        # A JSON list of ids reads like the comma list a form would send.
        statuses = client.post("/api/v2", json={"key": KEY, "action": "status", "orders": [order, 999999]}).json()
        assert set(statuses) == {str(order), "999999"}
        canceled = client.post("/api/v2", json={"key": KEY, "action": "cancel", "orders": [order]}).json()
        assert canceled == [{"order": order, "cancel": 1}]
    assert panel.status(KEY, order).status is Status.CANCELED
    assert panel.balance(KEY)[0] == Decimal(100)  # canceled while Pending: all refunded


def test_body_fields_win_over_query_fields(live):
    r = httpx.post(live.url + "/api/v2?key=wrong&action=services", data={"key": KEY, "action": "balance"}, timeout=10)
    assert set(r.json()) == {"balance", "currency"}
    r = httpx.post(live.url + "/api/v2?action=balance", json={"key": KEY}, timeout=10)
    assert set(r.json()) == {"balance", "currency"}


def test_aiohttp_get_query_string(live):
    import asyncio

    import aiohttp  # in the test extra: this client runs in CI, never skipped

    async def main() -> dict:
        async with aiohttp.ClientSession() as session:
            async with session.get(live.url + "/api/v2", params={"key": KEY, "action": "balance"}) as response:
                return await response.json()

    assert asyncio.run(main()) == {"balance": "100.00000", "currency": "USD"}
