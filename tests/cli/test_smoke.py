import httpx

from tests.helpers.common import KEY


def test_balance_over_a_real_socket(live):
    r = httpx.post(live.url + "/api/v2", data={"key": KEY, "action": "balance"})
    assert r.status_code == 200
    assert r.json() == {"balance": "100.00000", "currency": "USD"}


def test_add_then_status_in_process(client):
    order = client.post("/api/v2", data={"key": KEY, "action": "add", "service": "1", "link": "https://x.test/a", "quantity": "100"}).json()
    assert isinstance(order["order"], int)
    status = client.post("/api/v2", data={"key": KEY, "action": "status", "order": str(order["order"])}).json()
    assert status == {"charge": "0.09000", "start_count": "0", "status": "Pending", "remains": "100", "currency": "USD"}
