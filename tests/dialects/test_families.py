"""The panel families: each profile's mock speaks it, passes its own judge, fails the standard one.

Over real uvicorn servers on loopback (ServerThread) and real httpx clients.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from conformance.fingerprint import fingerprint

from mockpanel import ServerThread, VirtualClock, build_panel, create_app, load_dialect
from mockpanel._dialects.profile import DialectError
from mockpanel._panel.panel import Panel
from tests.helpers.broken_panels import START, open_keys, run_suite

FAMILIES = ["package-id", "hardened", "smartpanel-derived", "objectid", "smartpanel-script"]
KEY = "family-key-0001"
LINK = "https://instagram.com/family_user"


def served(name: str, balance: str = "100") -> tuple[Panel, ServerThread, str]:
    panel = build_panel(name, clock=VirtualClock(speed=0, start=START), seed=1)
    panel.create_account(KEY, balance=balance)
    return panel, ServerThread(create_app(panel, name)), load_dialect(name).endpoints[0]


@pytest.fixture
def hardened() -> Iterator[tuple[Panel, str]]:
    panel, server, path = served("hardened")
    with server:
        yield panel, server.url + path


def cheapest_default(http: httpx.Client, url: str, **headers: str) -> dict[str, Any]:
    services = http.post(url, data={"key": KEY, "action": "services"}, headers=headers).json()
    return min((s for s in services if s["type"] in ("Default", "default")), key=lambda s: Decimal(str(s["rate"])))


def add(http: httpx.Client, url: str, service: dict[str, Any], link: str = LINK, **extra: str) -> httpx.Response:
    fields = {"key": KEY, "action": "add", "service": str(service["service"]), "link": link,
              "quantity": str(service["min"]), **extra}
    return http.post(url, data=fields)


# --- each family against the judge -------------------------------------------------------------

@pytest.mark.parametrize("name", FAMILIES)
def test_a_family_mock_passes_its_own_orders_tier_and_fails_the_standard_one(name: str) -> None:
    panel = build_panel(name, clock=VirtualClock(speed=0, start=START), seed=1)
    open_keys(panel)
    path = load_dialect(name).endpoints[0]
    with ServerThread(create_app(panel, name)) as server:
        own = run_suite(server.url + path, panel, "orders", dialect=name, examples=4)
        assert own.exit_code == 0, own.flagged()
        assert own.spent is not None and own.spent > 0  # orders were placed, judged by the family's words
        standard = run_suite(server.url + path, panel, "read-only", dialect="standard", examples=4)
    assert standard.exit_code == 1
    assert any(outcome == "failed" for outcome in standard.flagged().values()), standard.flagged()


@pytest.mark.parametrize("name", FAMILIES)
def test_dialect_auto_names_each_family(name: str) -> None:
    # The whole read-only run with --dialect auto is in tests/conformance/test_conformance_mock.py; here the probes alone.
    panel, server, path = served(name)
    with server:
        result = fingerprint(server.url + path, KEY)
    assert result.closest == [name], result.summary()
    assert result.deviations == []
    assert len(panel.orders) == 0  # the probes spent nothing


@pytest.mark.parametrize("name", FAMILIES)
def test_a_family_mock_is_flagged_by_another_familys_profile(name: str) -> None:
    other = FAMILIES[(FAMILIES.index(name) + 1) % len(FAMILIES)]
    panel = build_panel(name, clock=VirtualClock(speed=0, start=START), seed=1)
    open_keys(panel)
    with ServerThread(create_app(panel, name)) as server:
        report = run_suite(server.url + load_dialect(name).endpoints[0], panel, "read-only", dialect=other, examples=2)
    assert report.exit_code == 1 and report.flagged(), (name, other)


# --- hardened: idempotency, key sources, HTTP codes, quota --------------------------------------

def test_a_retried_add_with_the_same_request_id_returns_the_first_order_and_charges_once(hardened) -> None:  # type: ignore[no-untyped-def]
    panel, url = hardened
    with httpx.Client(timeout=10) as http:
        service = cheapest_default(http, url)
        first = add(http, url, service, request_id="retry-1").json()
        again = add(http, url, service, request_id="retry-1").json()
        other = add(http, url, service, LINK + "_2", request_id="retry-2").json()
        plain = add(http, url, service, LINK + "_3").json()  # no request id: an ordinary add
    assert first == again and isinstance(first["order"], str)
    assert len({first["order"], other["order"], plain["order"]}) == 3
    assert len(panel.orders) == 3
    charges = [e for e in panel.ledger(KEY) if e.kind == "charge"]
    assert len(charges) == 3


def test_concurrent_retries_of_one_request_id_place_one_order(hardened) -> None:  # type: ignore[no-untyped-def]
    panel, url = hardened
    with httpx.Client(timeout=10) as http:
        service = cheapest_default(http, url)
    answers: list[dict[str, Any]] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def retry() -> None:
        with httpx.Client(timeout=10) as own:
            start.wait(timeout=10)
            answer = add(own, url, service, request_id="same-request").json()
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len(answers) == 8
    assert len({a["order"] for a in answers}) == 1, answers
    assert len(panel.orders) == 1
    before = Decimal(100)
    balance, _ = panel.balance(KEY)
    assert before - balance == panel.status(KEY, int(answers[0]["order"])).charge  # charged once


def test_request_ids_are_remembered_per_key_and_bounded(tmp_path: Path) -> None:
    profile = tmp_path / "short-memory.json"
    profile.write_text(json.dumps({"name": "short-memory", "extends": "hardened", "description": "x",
                                   "idempotency": {"field": "request_id", "keep": 2},
                                   "duplicate_links": "off"}))
    panel = build_panel(str(profile), clock=VirtualClock(speed=0, start=START), seed=1)
    panel.create_account(KEY, balance="100")
    panel.create_account("family-key-0002", balance="100")
    with ServerThread(create_app(panel, str(profile))) as server, httpx.Client(timeout=10) as http:
        url = server.url + "/api/v2"
        service = cheapest_default(http, url)
        a = add(http, url, service, request_id="a").json()["order"]
        other_key = http.post(url, data={"key": "family-key-0002", "action": "add", "service": str(service["service"]),
                                         "link": LINK, "quantity": str(service["min"]), "request_id": "a"}).json()
        assert other_key["order"] != a  # another key's "a" is another request
        add(http, url, service, request_id="b")
        assert add(http, url, service, request_id="a").json()["order"] == a  # still remembered
        add(http, url, service, request_id="c")
        add(http, url, service, request_id="d")  # "a" is now the oldest of three: forgotten
        assert add(http, url, service, request_id="a").json()["order"] != a


def test_the_key_may_come_from_a_bearer_or_x_api_key_header(hardened) -> None:  # type: ignore[no-untyped-def]
    _, url = hardened
    with httpx.Client(timeout=10) as http:
        bearer = http.post(url, data={"action": "balance"}, headers={"Authorization": f"Bearer {KEY}"})
        header = http.post(url, data={"action": "balance"}, headers={"X-Api-Key": KEY})
        wrong = http.post(url, data={"action": "balance"}, headers={"Authorization": "Bearer not-a-key"})
    assert bearer.status_code == header.status_code == 200
    assert bearer.json() == header.json() == {"balance": "100.0000", "currency": "USD"}
    assert wrong.status_code == 401 and wrong.json() == {"error": "Invalid API key"}


def test_the_standard_profile_reads_no_key_from_headers() -> None:
    _panel, server, path = served("standard")
    with server, httpx.Client(timeout=10) as http:
        answer = http.post(server.url + path, data={"action": "balance"}, headers={"Authorization": f"Bearer {KEY}"})
    assert answer.status_code == 200 and answer.json() == {"error": "Invalid API key"}


def test_hardened_errors_come_with_their_http_codes() -> None:
    panel, server, path = served("hardened", balance="0")
    with server, httpx.Client(timeout=10) as http:
        url = server.url + path
        service = cheapest_default(http, url)
        broke = add(http, url, service)
        unknown = http.post(url, data={"key": KEY, "action": "status", "order": "987654321001"})
        action = http.post(url, data={"key": KEY, "action": "nope"})
    assert (broke.status_code, broke.json()) == (402, {"error": "Not enough funds on balance"})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Incorrect order ID"})
    assert action.status_code == 400
    assert len(panel.orders) == 0  # the refused add left nothing behind


def test_past_the_quota_a_key_is_answered_429_with_rate_limit_headers(tmp_path: Path) -> None:
    profile = tmp_path / "tight.json"
    profile.write_text(json.dumps({"name": "tight", "extends": "hardened", "description": "x",
                                   "rate_limit": {"requests": 3, "window": 60, "error": "Slow down"}}))
    panel = build_panel(str(profile), clock=VirtualClock(speed=0, start=START), seed=1)
    panel.create_account(KEY, balance="5")
    with ServerThread(create_app(panel, str(profile))) as server, httpx.Client(timeout=10) as http:
        answers = [http.post(server.url + "/api/v2", data={"key": KEY, "action": "balance"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["x-ratelimit-limit"] == "3" for a in answers)
    assert answers[3].json() == {"error": "Slow down"} and 1 <= int(answers[3].headers["retry-after"]) <= 60


# --- the other families' wire --------------------------------------------------------------------

def test_objectid_ids_round_trip_and_a_single_status_is_keyed_by_its_id() -> None:
    panel, server, path = served("objectid")
    with server, httpx.Client(timeout=10) as http:
        url = server.url + path
        order = add(http, url, cheapest_default(http, url)).json()["order"]
        single = http.post(url, data={"key": KEY, "action": "status", "order": order}).json()
        missing = http.post(url, data={"key": KEY, "action": "status", "order": "f" * 24}).json()
        decimal_id = http.post(url, data={"key": KEY, "action": "status", "order": str(int(order, 16))}).json()
    assert len(order) == 24 and int(order, 16) in panel.orders
    assert list(single) == [order] and single[order]["status"] == "PENDING"
    assert len(single[order]["charge"].split(".")[1]) == 8
    assert missing == {"f" * 24: {"error": "Incorrect order ID"}}
    assert decimal_id == {str(int(order, 16)): {"error": "Incorrect order ID"}}  # ids are hex only


def test_package_id_writes_the_multi_status_charge_as_a_json_number() -> None:
    _panel, server, path = served("package-id")
    with server, httpx.Client(timeout=10) as http:
        url = server.url + path
        order = add(http, url, cheapest_default(http, url)).json()["order"]
        single = http.post(url, data={"key": KEY, "action": "status", "order": order}).json()
        batch = http.post(url, data={"key": KEY, "action": "status", "orders": order}).json()
    assert isinstance(order, str) and order.isdigit()
    assert isinstance(single["charge"], str) and isinstance(batch[order]["charge"], float)
    assert Decimal(single["charge"]) == Decimal(repr(batch[order]["charge"])).quantize(Decimal("0.00001"))


def test_smartpanel_derived_shows_unknown_remains_and_a_numeric_balance() -> None:
    _panel, server, path = served("smartpanel-derived")
    with server, httpx.Client(timeout=10) as http:
        url = server.url + path
        order = add(http, url, cheapest_default(http, url)).json()["order"]
        status = http.post(url, data={"key": KEY, "action": "status", "order": str(order)}).json()
        balance = http.post(url, data={"key": KEY, "action": "balance"}).json()
    assert status["order"] == order and status["remains"] == "Unknown" and status["status"] == "pending"
    assert isinstance(balance["balance"], float) and balance["status"] == "success"


def test_smartpanel_script_lacks_refill_and_cancel_and_writes_every_field_as_a_string() -> None:
    _panel, server, path = served("smartpanel-script")
    with server, httpx.Client(timeout=10) as http:
        url = server.url + path
        services = http.post(url, data={"key": KEY, "action": "services"}).json()
        lacking = [http.post(url, data={"key": KEY, "action": a, "order": "1"}).json()
                   for a in ("refill", "refill_status", "cancel")]
    assert all(isinstance(v, str) for s in services for k, v in s.items() if k != "desc")  # desc: a string or null
    assert {s["dripfeed"] for s in services} <= {"0", "1"}
    assert lacking == [{"error": "This action is Invalid"}] * 3


# --- settings are checked on load ---------------------------------------------------------------

@pytest.mark.parametrize("setting, named", [
    ({"id_format": "uuid"}, "'id_format'"),
    ({"money": {"status": {"json": "float"}}}, "'money.status.json'"),
    ({"money": {"balance": {"decimals": 20}}}, "'money.balance.decimals'"),
    ({"status": {"remains_words": {"Pending": "12"}}}, "'status.remains_words.Pending'"),
    ({"status": {"single": "wrapped"}}, "'status.single'"),
    ({"error_status": {"invalid_key": 418}}, "'error_status.invalid_key'"),
    ({"error_status": {"no_such_error": 400}}, "'error_status'"),
    ({"key_from": ["cookie"]}, "'key_from'"),
    ({"idempotency": {"field": "request_id", "keep": 0}}, "'idempotency.keep'"),
    ({"rate_limit": {"requests": 0}}, "'rate_limit'"),
    ({"cancel": {"shape": "nested"}}, "'cancel.shape'"),
    ({"key_case": "lower"}, "'key_case'"),
    ({"key_trailing_spaces": "stripped"}, "'key_trailing_spaces'"),
    ({"add": {"order": "uuid"}}, "'add.order'"),
])
def test_each_family_setting_is_checked_on_load_naming_the_field_and_file(
        tmp_path: Path, setting: dict[str, Any], named: str) -> None:
    profile = tmp_path / "bad.json"
    profile.write_text(json.dumps({"name": "bad", "extends": "standard", "description": "x", **setting}))
    with pytest.raises(DialectError) as caught:
        load_dialect(str(profile))
    assert str(profile) in str(caught.value) and named in str(caught.value)


def test_the_smartpanel_script_compares_keys_case_insensitively_and_the_standard_exactly() -> None:
    for name, accepted in (("smartpanel-script", True), ("standard", False)):
        _panel, server, path = served(name)
        with server, httpx.Client(timeout=10) as http:
            answer = http.post(server.url + path, data={"key": KEY.upper(), "action": "balance"}).json()
        assert ("balance" in answer) is accepted, (name, answer)
