"""MockPanel: the object the fixture returns, used here directly (outside the fixture)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
import requests

from mockpanel import MockPanel, mock_panel
from mockpanel._server.hub import HubServer
from tests.helpers.common import HTTP

@pytest.fixture
def mp(hub):
    mock = MockPanel(hub)
    yield mock
    mock.close()


def add(mock, client=HTTP, **fields):
    data = {"key": mock.key, "action": "add", "service": "1", "link": "https://x.test/a", "quantity": "1000", **fields}
    return client.post(mock.url, data=data).json()


def status(mock, order):
    return HTTP.post(mock.url, data={"key": mock.key, "action": "status", "order": order}).json()


def test_defaults_a_funded_key_a_frozen_clock_and_the_standard_endpoint(mp):
    assert mp.url.endswith("/api/v2") and mp.url.startswith("http://127.0.0.1:")
    assert mp.control_url.endswith("/_mock")
    assert HTTP.post(mp.url, data={"key": mp.key, "action": "balance"}).json() == {"balance": "100.00000", "currency": "USD"}
    assert mp.clock.frozen and mp.balance() == Decimal(100)


def test_in_process_client_needs_no_server():
    with HubServer() as server:
        mock = MockPanel(server)
        with mock.client() as client:
            assert client.post("", data={"key": mock.key, "action": "balance"}).json()["balance"] == "100.00000"
        with httpx.Client(transport=mock.transport) as client:  # the user's own client, our transport
            assert client.post(mock.inprocess_url, data={"key": mock.key, "action": "services"}).status_code == 200
        assert not server.started  # no socket was ever opened
        assert [e.action for e in mock.requests] == ["balance", "services"]


def test_closing_a_borrowed_client_leaves_the_transport_working(mp):
    for _ in range(2):
        with mp.client() as client:
            assert client.post("", data={"key": mp.key, "action": "balance"}).status_code == 200


def test_async_client(mp):
    async def main() -> dict:
        async with mp.async_client() as client:
            r = await client.post("", data={"key": mp.key, "action": "balance"})
            return r.json()

    assert asyncio.run(main())["balance"] == "100.00000"


def test_clock_advance_drives_the_lifecycle(mp):
    order = add(mp)["order"]
    assert status(mp, order)["status"] == "Pending"
    mp.clock.advance(days=3)
    assert status(mp, order)["status"] in ("Completed", "Partial", "Canceled")


def test_set_order_charges_and_refunds_as_a_natural_status(mp):
    forced = add(mp, link="https://x.test/forced")["order"]
    mp.set_order(forced, status="Partial", remains=400)
    assert status(mp, forced)["charge"] == "0.54000"  # 0.90 less 400/1000 of it
    canceled = add(mp, link="https://x.test/canceled")["order"]
    mp.set_order(canceled, status="Canceled")
    assert mp.balance() == Decimal("100") - Decimal("0.54")
    assert mp.order(canceled)["refunded"] == "0.90000"
    with pytest.raises(ValueError, match="final status cannot change"):
        mp.set_order(canceled, status="Completed")


def test_set_order_outcome_and_start_count(mp):
    order = add(mp)["order"]
    mp.set_order(order, start_count=1234, outcome={"status": "Partial", "remains": 10})
    mp.clock.advance(days=2)
    assert (status(mp, order)["start_count"], status(mp, order)["remains"]) == ("1234", "10")


def test_money_is_shown_with_the_dialects_decimals_never_an_exponent(mp):
    add(mp)  # service 1 at 0.90 per 1000: the stored balance is 99.1000000
    assert str(mp.balance()) == "99.10000"
    assert str(mp.drain()) == "0.00000"  # not Decimal('0E-7')
    assert str(mp.drain()) == "0.00000"  # nothing left to drain
    assert mp.ledger()["balance"] == "0.00000"


def test_keys_and_money(mp):
    other = mp.new_key(balance="5", currency="EUR")
    assert HTTP.post(mp.url, data={"key": other, "action": "balance"}).json() == {"balance": "5.00000", "currency": "EUR"}
    assert mp.topup("2.5", key=other) == Decimal("7.5")
    assert mp.drain("1", key=other) == Decimal("6.5")
    assert mp.drain(key=other) == Decimal(0)
    assert [e["kind"] for e in mp.ledger(other)["entries"]] == ["deposit", "deposit", "withdrawal", "withdrawal"]
    mp.remove_key(other)
    assert HTTP.post(mp.url, data={"key": other, "action": "balance"}).json() == {"error": "Invalid API key"}
    with pytest.raises(ValueError, match="floats cannot hold money"):
        mp.topup(1.5)


def test_services(mp):
    mp.reprice(1, "1.80")
    add(mp)
    assert mp.balance() == Decimal("98.2")
    mp.disable_service(1)
    assert add(mp, link="https://x.test/b") == {"error": "Incorrect service ID"}
    assert next(s for s in mp.services() if s["service"] == 1)["enabled"] is False
    mp.add_service(service=77, name="New", type="Default", rate="1", min=1, max=10)
    assert add(mp, service="77", quantity="10")["order"] == 10002


def test_faults_from_python(mp):
    fault = mp.fault("http", status=502, action="add", count=1)
    assert [f.id for f in mp.faults] == [fault.id]
    assert requests.post(mp.url, data={"key": mp.key, "action": "add"}, timeout=5).status_code == 502
    mp.fault("html")
    mp.remove_fault(mp.faults[-1])
    mp.fault("empty")
    mp.clear_faults()
    assert mp.faults == []


def test_requests_are_this_panels_newest_last_key_redacted(mp, hub):
    other = MockPanel(hub)
    try:
        HTTP.post(other.url, data={"key": other.key, "action": "balance"})
        add(mp)
        HTTP.post(mp.url, data={"key": mp.key, "action": "status", "order": "10001"})
        assert [(r.action, r.get("order")) for r in mp.requests] == [("add", None), ("status", "10001")]
        assert mp.requests[0]["quantity"] == "1000" and mp.requests[0].order == 10001
        assert all(mp.key not in repr(r) for r in mp.requests)
        assert [r.action for r in other.requests] == ["balance"]
    finally:
        other.close()


def test_verification_helpers(mp):
    add(mp)
    add(mp)
    mp.assert_requested("add", count=2, service=1, quantity=1000)
    mp.assert_not_requested("cancel")
    assert len(mp.duplicate_orders()) == 1
    with pytest.raises(AssertionError, match="sent more than once"):
        mp.assert_no_duplicate_orders()
    mp.assert_polling_rate(min_interval=30)


def test_panels_are_isolated(hub):
    a, b = MockPanel(hub), MockPanel(hub, balance="3", key="another-key")
    try:
        assert add(a)["order"] == add(b, quantity="100")["order"] == 10001
        a.clock.advance(days=5)
        assert status(b, 10001)["status"] == "Pending"  # b's clock did not move
        assert HTTP.post(a.url, data={"key": b.key, "action": "balance"}).json() == {"error": "Invalid API key"}
    finally:
        a.close()
        b.close()


def test_options(hub):
    mock = MockPanel(hub, balance="7", currency="EUR", seed=5, speed=60, dialect="smartpanel-v1", key="my-key")
    try:
        assert mock.url.endswith("/api/v1") and mock.key == "my-key" and mock.clock.speed == 60
        assert HTTP.post(mock.url, data={"key": "my-key", "action": "balance"}).json()["currency"] == "EUR"
    finally:
        mock.close()
    with pytest.raises(TypeError, match="unknown mockpanel option"):
        MockPanel(hub, balanse="5")
    with pytest.raises(ValueError, match="no dialect named"):
        MockPanel(hub, dialect="nope")


def test_catalog_option_forms(hub, tmp_path):
    services = [{"service": 5, "name": "Only", "type": "Default", "rate": "2", "min": 1, "max": 100}]
    path = tmp_path / "mine.json"
    path.write_text(__import__("json").dumps(services))
    for catalog in (services, str(path)):
        mock = MockPanel(hub, catalog=catalog)
        try:
            assert [s["service"] for s in mock.services()] == [5]
        finally:
            mock.close()


def test_same_seed_same_plans(hub):
    plans = []
    for _ in range(2):
        mock = MockPanel(hub, seed=42)
        try:
            seen = mock.order(add(mock)["order"])
            plan = seen["plan"]
            plans.append((plan["starts_at"] - seen["created"], plan["per_hour"], plan["outcome"], plan["remains_at_end"]))
        finally:
            mock.close()
    assert plans[0] == plans[1]


def test_reset_export_import(mp):
    order = add(mp)["order"]
    saved = mp.export_state()
    mp.reset()
    assert mp.balance() == Decimal(100) and mp.requests == []
    mp.import_state(saved)
    assert mp.order(order)["status"] == "Pending" and mp.balance() == Decimal("99.1")


def test_close_unmounts(hub):
    mock = MockPanel(hub)
    url = mock.url
    mock.close()
    r = HTTP.post(url, data={"key": mock.key, "action": "balance"})
    assert r.status_code == 404 and "no mock panel here" in r.json()["error"]


def test_mock_panel_outside_pytest():
    with mock_panel(balance="2") as mock:
        assert mock.balance() == Decimal(2)
        assert HTTP.post(mock.url, data={"key": mock.key, "action": "balance"}).json()["balance"] == "2.00000"
