"""``GET /_mock/journal.har``: the mock's journal as HAR 1.2, with method, URL, query, headers and
bodies, the key redacted everywhere."""

from __future__ import annotations

import json
from typing import Any

import httpx
import requests

from mockpanel import ServerThread
from mockpanel._domain.accounts import redact
from tests.helpers.common import KEY
from tests.helpers.har_schema import check_post_data, problems


def test_the_journal_as_har_has_every_required_field_and_the_requests_as_sent(live: ServerThread) -> None:
    url = live.url + "/api/v2"
    placed = requests.post(url, data={"key": KEY, "action": "add", "service": "1", "link": "https://har.test/a",
                             "quantity": "100"}, headers={"X-Client": "shop-1"}, timeout=10).json()
    requests.get(url, params={"key": KEY, "action": "balance"}, timeout=10)
    httpx.post(url, json={"key": KEY, "action": "status", "orders": [1, 2]}, timeout=10)
    har = httpx.get(live.url + "/_mock/journal.har", timeout=10).json()
    assert problems(har) == []
    entries = har["log"]["entries"]
    assert har["log"]["version"] == "1.2" and len(entries) == 3
    assert [check_post_data(e) for e in entries] == [[], [], []]
    add, balance, status = (e["request"] for e in entries)
    assert add["method"] == "POST" and add["url"] == url
    assert {"name": "X-Client", "value": "shop-1"} in [{"name": h["name"].title(), "value": h["value"]}
                                                        for h in add["headers"]]
    assert "action=add" in add["postData"]["text"] and f"key={redact(KEY)}" in add["postData"]["text"].replace(
        "%23", "#")
    assert balance["method"] == "GET" and "postData" not in balance
    assert {"name": "action", "value": "balance"} in balance["queryString"]
    assert {"name": "key", "value": redact(KEY)} in balance["queryString"]
    assert json.loads(status["postData"]["text"])["orders"] == "1,2"
    first = entries[0]["response"]
    assert first["status"] == 200 and first["statusText"] == "OK"
    assert json.loads(first["content"]["text"]) == placed and "order" in placed
    assert first["content"]["mimeType"].startswith("application/json")
    assert KEY not in json.dumps(har)


def test_a_key_in_an_authorization_header_is_redacted(live: ServerThread) -> None:
    requests.post(live.url + "/api/v2", data={"key": KEY, "action": "balance"},
                  headers={"Authorization": f"Bearer {KEY}", "X-Api-Key": KEY}, timeout=10)
    text = httpx.get(live.url + "/_mock/journal.har", timeout=10).text
    assert KEY not in text and redact(KEY) in text


def test_the_har_is_listed_in_the_control_index(live: ServerThread) -> None:
    assert "GET /_mock/journal.har" in httpx.get(live.url + "/_mock/", timeout=10).json()["endpoints"]


def test_a_hub_panel_s_urls_are_its_own_on_either_way_in(mock: Any) -> None:
    """On the pytest hub a panel lives under /p/<id>: a request answered in the connection and
    one the app answers (a query string) both show the URL the client asked."""
    api = mock.url
    requests.post(api, data={"key": mock.key, "action": "balance"}, timeout=10)
    requests.post(api + "?x=1", data={"key": mock.key, "action": "balance"}, timeout=10)
    entries = httpx.get(mock.control_url + "/journal.har", timeout=10).json()["log"]["entries"]
    assert [e["request"]["url"] for e in entries] == [api, api + "?x=1"]
