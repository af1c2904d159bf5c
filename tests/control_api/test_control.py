"""The control API over HTTP (/_mock/): every endpoint, its errors, and who may use it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from decimal import Decimal

import httpx
import pytest

from mockpanel import ServerThread, create_app
from mockpanel._control_api.access import client_host, is_loopback
from mockpanel._server.inprocess import SyncASGITransport
from tests.helpers.common import HTTP, KEY, serving


@pytest.fixture
def ctl(mock):
    base = mock.control_url

    def call(method: str, path: str, body=None, **kw) -> httpx.Response:
        if isinstance(body, str):
            return HTTP.request(method, base + path, content=body, headers={"content-type": "application/json"}, **kw)
        return HTTP.request(method, base + path, json=body, **kw)

    return call


def api(mock, **data):
    return HTTP.post(mock.url, data={"key": KEY, **data}).json()


# --- endpoints ----------------------------------------------------------------------------


def test_index(ctl):
    r = ctl("GET", "/")
    assert r.status_code == 200 and r.json()["dialect"] == "standard" and "POST /_mock/clock" in r.json()["endpoints"]
    assert ctl("GET", "").json() == r.json()  # /_mock without the slash too


def test_keys_topup_drain_ledger_delete(ctl, mock):
    made = ctl("POST", "/keys", {"key": "k2", "balance": "10.5", "currency": "EUR"})
    assert (made.status_code, made.json()) == (201, {"key": "k2", "balance": "10.50000", "currency": "EUR"})
    generated = ctl("POST", "/keys", {}).json()
    assert len(generated["key"]) >= 16 and generated["balance"] == "0.00000"
    assert ctl("POST", "/keys/k2/topup", {"amount": "2.25"}).json() == {"balance": "12.75000"}
    assert ctl("POST", "/keys/k2/topup", {"amount": 0.1}).json() == {"balance": "12.85000"}  # JSON numbers stay exact
    assert ctl("POST", "/keys/k2/drain", {"amount": "2.85"}).json() == {"balance": "10.00000"}
    ledger = ctl("GET", "/keys/k2/ledger").json()
    assert [(e["kind"], e["amount"]) for e in ledger["entries"]] == [
        ("deposit", "10.50000"), ("deposit", "2.25000"), ("deposit", "0.10000"), ("withdrawal", "2.85000"),
    ]
    assert ctl("POST", "/keys/k2/drain", {}).json() == {"balance": "0.00000"}  # never "0E-7"
    assert ctl("DELETE", "/keys/k2").json() == {"removed": True}
    assert HTTP.post(mock.url, data={"key": "k2", "action": "balance"}).json() == {"error": "Invalid API key"}
    assert ctl("DELETE", "/keys/k2").status_code == 404


def test_clock(ctl):
    start = ctl("GET", "/clock").json()
    assert start["frozen"] is True and start["speed"] == 0
    assert ctl("POST", "/clock", {"advance": 90}).json()["now"] == start["now"] + 90
    assert ctl("POST", "/clock", {"advance": "1h30m"}).json()["now"] == start["now"] + 90 + 5400
    moving = ctl("POST", "/clock", {"speed": 60}).json()
    assert (moving["speed"], moving["frozen"]) == (60, False)
    assert ctl("POST", "/clock", {"freeze": True}).json()["frozen"] is True
    assert ctl("POST", "/clock", {"advance": "-5m"}).status_code == 400
    assert ctl("POST", "/clock", {"speed": -1}).status_code == 400
    assert "unknown field" in ctl("POST", "/clock", {"rewind": 5}).json()["error"]


def test_force_an_order_and_its_money_follows(ctl, mock):
    order = api(mock, action="add", service="1", link="https://x.test/a", quantity="1000")["order"]
    seen = ctl("GET", f"/orders/{order}").json()
    assert (seen["status"], seen["service"], seen["link"], seen["charge"]) == ("Pending", 1, "https://x.test/a", "0.90000")
    assert KEY not in json.dumps(seen)
    forced = ctl("POST", f"/orders/{order}", {"status": "Partial", "remains": 157, "start_count": 42}).json()
    assert (forced["status"], forced["remains"], forced["start_count"]) == ("Partial", 157, 42)
    assert api(mock, action="status", order=order) == {
        "charge": "0.75870", "start_count": "42", "status": "Partial", "remains": "157", "currency": "USD",
    }
    assert api(mock, action="balance")["balance"] == "99.24130"
    refused = ctl("POST", f"/orders/{order}", {"status": "Pending"})
    assert refused.status_code == 400 and "final status cannot change" in refused.json()["error"]
    assert ctl("GET", "/orders/999999").status_code == 404


def test_choose_an_outcome_for_later(ctl, mock):
    order = api(mock, action="add", service="1", link="https://x.test/b", quantity="1000")["order"]
    planned = ctl("POST", f"/orders/{order}", {"outcome": {"status": "Partial", "remains": 250}}).json()
    assert planned["status"] == "Pending" and planned["plan"]["outcome"] == "Partial"
    ctl("POST", "/clock", {"advance": "2d"})
    # The refund of the undelivered 250 shows on the first read, before anything reads the balance.
    assert ctl("GET", f"/orders/{order}").json()["refunded"] == "0.22500"
    assert api(mock, action="status", order=order)["remains"] == "250"


def test_force_a_refill(ctl, mock):
    order = api(mock, action="add", service="1", link="https://x.test/refill", quantity="100")["order"]
    ctl("POST", f"/orders/{order}", {"status": "Completed"})
    refill = int(api(mock, action="refill", order=order)["refill"])
    assert api(mock, action="refill_status", refill=refill) == {"status": "Pending"}
    assert ctl("POST", f"/refills/{refill}", {"status": "Rejected"}).json() == {"refill": refill, "status": "Rejected"}
    assert api(mock, action="refill_status", refill=refill) == {"status": "Rejected"}
    assert ctl("POST", f"/refills/{refill}", {"status": "Completed"}).status_code == 400


def test_services_add_patch(ctl, mock):
    assert len(ctl("GET", "/services").json()) == 20
    new = {"service": 99, "name": "Test likes", "type": "Default", "rate": "0.10", "min": 10, "max": 100}
    assert ctl("POST", "/services", new).status_code == 201
    assert ctl("POST", "/services", new).status_code == 400  # exists
    assert ctl("PATCH", "/services/99", {"rate": "0.20", "enabled": False}).json()["enabled"] is False
    listed = [s["service"] for s in api(mock, action="services")]
    assert 99 not in listed
    assert ctl("PATCH", "/services/99", {"enabled": True}).status_code == 200
    assert api(mock, action="add", service="99", link="https://x.test/n", quantity="100") == {"order": 10001}
    assert api(mock, action="balance")["balance"] == "99.98000"
    assert ctl("PATCH", "/services/99", {"min": 500}).status_code == 400  # min > max, checked as a catalogue entry
    assert ctl("PATCH", "/services/12345", {"rate": "1"}).status_code == 404


def test_faults_crud(ctl, mock):
    made = ctl("POST", "/faults", {"kind": "http", "status": 503, "action": "balance", "count": 1})
    assert made.status_code == 201
    fault_id = made.json()["id"]
    assert [f["id"] for f in ctl("GET", "/faults").json()] == [fault_id]
    kept = ctl("POST", "/faults", {"kind": "html", "action": "services", "count": 2}).json()["id"]
    assert HTTP.post(mock.url, data={"key": KEY, "action": "balance"}).status_code == 503
    assert [f["id"] for f in ctl("GET", "/faults").json()] == [kept]  # used up: it left the list
    assert ctl("DELETE", f"/faults/{fault_id}").status_code == 404
    assert ctl("DELETE", f"/faults/{kept}").json() == {"removed": True}
    ctl("POST", "/faults", {"kind": "html"})
    assert ctl("DELETE", "/faults").json() == {"cleared": True}
    assert ctl("GET", "/faults").json() == []
    assert "unknown fault kind" in ctl("POST", "/faults", {"kind": "meteor"}).json()["error"]


def test_journal(ctl, mock):
    api(mock, action="balance")
    api(mock, action="services")
    HTTP.post(mock.url, data={"key": "nobody", "action": "balance"})
    everything = ctl("GET", "/journal").json()
    assert [e["action"] for e in everything] == ["balance", "services", "balance"]
    assert [e["seq"] for e in ctl("GET", "/journal", params={"action": "balance", "key": KEY}).json()] == [1]
    assert len(ctl("GET", "/journal", params={"limit": 1}).json()) == 1
    assert ctl("GET", "/journal", params={"limit": "x"}).status_code == 400
    assert ctl("DELETE", "/journal").json() == {"cleared": True}
    assert ctl("GET", "/journal").json() == []


def test_state_export_and_import(ctl, mock):
    order = api(mock, action="add", service="1", link="https://x.test/s", quantity="1000")["order"]
    state = ctl("GET", "/state").json()
    api(mock, action="add", service="1", link="https://x.test/t", quantity="1000")
    assert ctl("PUT", "/state", state).json() == {"imported": True, "orders": 1, "keys": 1}
    assert api(mock, action="balance")["balance"] == "99.10000"
    assert api(mock, action="status", order=order)["status"] == "Pending"
    assert ctl("GET", "/state").json() == state  # exactly: a float setting (a plan's odds) comes back a float
    assert "order" in api(mock, action="add", service="1", link="https://x.test/u", quantity="1000")  # and plans draw
    bad = ctl("PUT", "/state", {"format": "something-else"})
    assert bad.status_code == 400 and "not a mockpanel state" in bad.json()["error"]


def test_reset(ctl, mock):
    ctl("POST", "/keys", {"key": "temp", "balance": "5"})
    api(mock, action="add", service="1", link="https://x.test/r", quantity="1000")
    ctl("POST", "/faults", {"kind": "html", "action": "services"})
    ctl("PATCH", "/services/1", {"rate": "9"})
    assert ctl("POST", "/reset").json() == {"reset": True, "keys": 1}
    assert api(mock, action="balance")["balance"] == "100.00000"  # the opening key, its opening balance
    assert HTTP.post(mock.url, data={"key": "temp", "action": "balance"}).json() == {"error": "Invalid API key"}
    assert api(mock, action="status", order=10001) == {"error": "Incorrect order ID"}
    assert next(s for s in api(mock, action="services") if s["service"] == 1)["rate"] == "0.90"
    assert [e["action"] for e in ctl("GET", "/journal").json()] == ["balance", "balance", "status", "services"]


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("POST", "/clock", "not json", 400),
        ("POST", "/clock", [1, 2], 400),
        ("POST", "/keys/nobody/topup", {"amount": "1"}, 404),
        ("POST", "/keys", {"balance": "-1"}, 400),
        ("POST", "/keys", {"key": KEY}, 400),
        ("POST", "/orders/10001", {"status": "Exploded"}, 404),
        ("POST", "/orders/abc", {}, 404),
        ("GET", "/nothing", None, 404),
        ("DELETE", "/clock", None, 404),
    ],
)
def test_errors_are_json_4xx(ctl, method, path, body, status):
    r = ctl(method, path, body)
    assert r.status_code == status
    assert "error" in r.json()


# --- who may use it -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True), ("10.1.2.3", False),
     ("169.254.77.1", False), ("203.0.113.5", False), ("::ffff:203.0.113.5", False), ("fe80::1%eth0", False),
     ("testclient", False), ("", False), (None, False), ("localhost", True), ("LocalHost.", True),
     ("api.localhost", True), ("localhost.example.com", False), ("[::1]", True), ("0.0.0.0", False), ("::", False)],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_client_host_reads_the_asgi_scope():
    assert client_host({"client": ("203.0.113.5", 4000)}) == "203.0.113.5"
    assert client_host({"client": None}) is None and client_host({}) is None


def _inprocess(app, host: str) -> httpx.Client:
    return httpx.Client(transport=SyncASGITransport(app, client=(host, 40000)), base_url="http://mock.test")


def test_a_non_loopback_client_is_refused_but_the_api_answers(panel):
    app = create_app(panel)
    with _inprocess(app, "203.0.113.5") as outsider:
        refused = outsider.post("/_mock/clock", json={"advance": "1d"})
        assert refused.status_code == 403 and "loopback" in refused.json()["error"]
        assert outsider.post("/api/v2", data={"key": KEY, "action": "balance"}).json()["balance"] == "100.00000"
    with _inprocess(app, "127.0.0.1") as local:
        assert local.get("/_mock/clock").status_code == 200


def test_with_a_token_only_requests_carrying_it_get_in(panel):
    app = create_app(panel, admin_token="s3cret")
    with _inprocess(app, "203.0.113.5") as outsider, _inprocess(app, "127.0.0.1") as local:
        assert local.get("/_mock/clock").status_code == 401  # loopback is not enough any more
        assert outsider.get("/_mock/clock", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert outsider.get("/_mock/clock", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert outsider.get("/_mock/clock", headers={"X-Mock-Token": "s3cret"}).status_code == 200


def test_a_forwarded_non_loopback_client_is_refused_over_a_real_socket(panel):
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 (a local reverse proxy): the client it
    # names is who the control API judges.
    with ServerThread(create_app(panel)) as server:
        url = server.url + "/_mock/clock"
        assert HTTP.get(url).status_code == 200
        refused = HTTP.get(url, headers={"X-Forwarded-For": "203.0.113.5"})
        assert refused.status_code == 403


NETNS_SCRIPT = textwrap.dedent(
    """
    import json, httpx
    from mockpanel import ServerThread, build_panel, create_app
    results = {}
    for token in (None, "t0ken"):
        panel = build_panel(speed=0)
        panel.create_account("k", balance="1")
        with ServerThread(create_app(panel, admin_token=token), host="169.254.77.1") as server:
            with httpx.Client(timeout=5) as c:
                results[str(token)] = {
                    "api": c.post(server.url + "/api/v2", data={"key": "k", "action": "balance"}).status_code,
                    "control": c.get(server.url + "/_mock/clock").status_code,
                    "control_with_token": c.get(server.url + "/_mock/clock", headers={"X-Mock-Token": "t0ken"}).status_code,
                }
    print(json.dumps(results))
    """
)


def test_a_server_bound_to_a_non_loopback_address_refuses_its_clients():
    """A real server on a link-local address (169.254.77.1) inside a private network
    namespace made for this test: its clients are not loopback, so the control API refuses
    them unless the server has a token and they send it."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs unshare and ip (util-linux, iproute2)")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot create a network namespace here (unshare -n needs CAP_SYS_ADMIN)")
    command = "ip link set lo up && ip addr add 169.254.77.1/32 dev lo && exec \"$0\" -c \"$1\""
    done = subprocess.run(
        ["unshare", "-n", "sh", "-c", command, sys.executable, NETNS_SCRIPT],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results["None"] == {"api": 200, "control": 403, "control_with_token": 403}
    assert results["t0ken"] == {"api": 200, "control": 401, "control_with_token": 200}


# --- mockpanel serve --admin-token ------------------------------------------------------------------


def test_mockpanel_serve_with_an_admin_token():
    with serving("--admin-token", "tok-123") as origin:
        assert HTTP.post(origin + "/_mock/clock", json={"advance": "1h"}).status_code == 401
        moved = HTTP.post(origin + "/_mock/clock", json={"advance": "1h"}, headers={"Authorization": "Bearer tok-123"})
        assert moved.status_code == 200
        made = HTTP.post(origin + "/_mock/keys", json={"key": "k9", "balance": "3"}, headers={"X-Mock-Token": "tok-123"})
        assert made.status_code == 201
        assert HTTP.post(origin + "/api/v2", data={"key": "k9", "action": "balance"}).json()["balance"] == "3.00000"
        reset = HTTP.post(origin + "/_mock/reset", headers={"X-Mock-Token": "tok-123"}).json()
        assert reset == {"reset": True, "keys": 1}  # the --key it started with comes back
        assert HTTP.post(origin + "/api/v2", data={"key": "test-key", "action": "balance"}).json()["balance"] == "1000.00000"
        assert Decimal(HTTP.get(origin + "/_mock/clock", headers={"X-Mock-Token": "tok-123"}).json()["now"]) > 0
