"""GET /_mock/orders, /_mock/keys, /_mock/refills: filters, paging by id, errors, access,
and the column scans behind them checked against each order's own state."""

from __future__ import annotations

import random

import pytest

from mockpanel import ServerThread, build_panel, create_app
from mockpanel._domain.accounts import key_id, redact
from mockpanel._domain.clock import VirtualClock
from mockpanel._domain.lifecycle import Status
from mockpanel._control_api import listing as orderscan
from mockpanel._control_api.listing import LIST_ENDPOINTS, ORDERS, list_orders, openapi_paths
from tests.helpers.common import HTTP

KEYS = ("list-key-a", "list-key-b", "list-key-c")


def populated(n: int = 300, seed: int = 4):
    panel = build_panel(seed=seed, clock=VirtualClock(speed=0, start=1_700_000_000))
    for key in KEYS:
        panel.create_account(key, balance="10000")
    rng = random.Random(seed)
    services = [s.id for s in panel.catalog if s.type.name == "Default"]
    for i in range(n):
        panel.add(KEYS[i % 3], services[i % len(services)], {"link": f"https://x.test/{i % 17}/p{i}", "quantity": "200"})
        if i % 40 == 39:
            panel.clock.advance(seconds=rng.choice([60, 900, 3600]))
    first = panel.orders.first_id
    for order_id in rng.sample(range(first, first + n), 20):  # forced states too
        try:
            panel.set_order(order_id, status=rng.choice(["Partial", "Canceled", "In progress", "Pending"]))
        except ValueError:
            pass
    return panel


def reference(panel, q):
    """The matching order ids, newest first, by reading each order's own state."""
    now = panel.clock.now()
    out = []
    for order_id in sorted(panel.orders, reverse=True):
        order = panel.orders[order_id]
        if q.get("key") and order.key != key_id(q["key"]):
            continue
        if q.get("service") is not None and order.service.id != q["service"]:
            continue
        if q.get("link") and q["link"] not in order.link:
            continue
        if q.get("status") and order.state(now).status.value != q["status"]:
            continue
        out.append(order_id)
    return out


QUERIES = [{}, {"key": KEYS[1]}, {"status": "Completed"}, {"status": "Pending"}, {"status": "In progress"},
           {"status": "Partial", "key": KEYS[0]}, {"service": "3"}, {"link": "/5/"}, {"status": "Canceled", "link": "x.test"}]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: ",".join(f"{k}={v}" for k, v in q.items()) or "all")
def test_pages_and_counts_agree_with_each_orders_state(query):
    panel = populated()
    panel.remove_account(KEYS[2])  # removed rows never show
    q = ORDERS.parse({**query, "limit": "7"})
    expected = reference(panel, q)
    seen, before = [], None
    for _ in range(100):
        page = list_orders(panel, {**q, "before": before})
        seen += [o["order"] for o in page["orders"]]
        assert len(page["orders"]) <= 7
        before = page["older"]
        if before is None:
            break
    assert seen == expected
    counts = orderscan.count_statuses(panel, q)
    for status in Status:
        assert counts[status.value] == len(reference(panel, {**q, "status": status.value}))


def test_counts_follow_the_clock_and_forced_changes():
    panel = populated(60)
    q = ORDERS.parse({})
    before = orderscan.count_statuses(panel, q)
    panel.clock.advance(days=3)
    after = orderscan.count_statuses(panel, q)
    assert after != before and after["In progress"] == 0  # held orders stay Pending
    assert after == {s.value: len(reference(panel, {"status": s.value})) for s in Status}
    held = after["Pending"]
    newest = max(panel.orders)
    panel.add(KEYS[0], 1, {"link": "https://x.test/new", "quantity": "100"})
    assert orderscan.count_statuses(panel, q)["Pending"] == held + 1
    panel.set_order(newest + 1, status="Canceled")
    assert orderscan.count_statuses(panel, q)["Pending"] == held


def test_paging_back_with_after_gives_the_newer_page():
    panel = populated(50)
    q = ORDERS.parse({"limit": "10"})
    first = list_orders(panel, q)
    second = list_orders(panel, {**q, "before": first["older"]})
    back = list_orders(panel, {**q, "after": second["newer"]})
    assert [o["order"] for o in back["orders"]] == [o["order"] for o in first["orders"]]
    assert first["newer"] is None and second["newer"] == second["orders"][0]["order"]


@pytest.fixture(scope="module")
def served():
    panel = populated(120)
    refill_key = KEYS[0]
    with ServerThread(create_app(panel)) as server:
        yield server.url, panel, refill_key


def test_get_orders_over_http_filters_pages_and_never_shows_a_key(served):
    url, panel, _ = served
    answer = HTTP.get(f"{url}/_mock/orders", params={"key": redact(KEYS[1]), "limit": 5}).json()
    assert len(answer["orders"]) == 5 and {o["key"] for o in answer["orders"]} == {redact(KEYS[1])}
    nxt = HTTP.get(f"{url}/_mock/orders", params={"key": key_id(KEYS[1]), "limit": 5, "before": answer["older"]}).json()
    assert max(o["order"] for o in nxt["orders"]) < min(o["order"] for o in answer["orders"])
    text = HTTP.get(f"{url}/_mock/orders", params={"limit": 500}).text
    assert not any(key in text for key in KEYS)
    keys = HTTP.get(f"{url}/_mock/keys").json()
    assert keys["total"] == 3 and {k["key"] for k in keys["keys"]} == {redact(k) for k in KEYS}
    assert not any(key in str(keys) for key in KEYS)


def test_get_refills_lists_them_newest_first(served):
    url, panel, key = served
    panel.clock.advance(days=5)
    done = [o for o in reversed(list(panel.keys_orders(key)))
            if o.state(panel.clock.now()).status is Status.COMPLETED and o.service.refill]
    made = [panel.refill(key, o.id) for o in done[:3]]
    answer = HTTP.get(f"{url}/_mock/refills", params={"key": redact(key)}).json()
    assert [r["refill"] for r in answer["refills"]] == sorted(made, reverse=True)
    one = HTTP.get(f"{url}/_mock/refills", params={"order": done[0].id}).json()["refills"]
    assert [r["order"] for r in one] == [done[0].id]


@pytest.mark.parametrize("query, named", [
    ({"limit": "0"}, "limit"), ({"limit": "abc"}, "limit"), ({"status": "Done"}, "status"),
    ({"service": "٣"}, "service"), ({"colour": "red"}, "colour"), ({"before": "-1"}, "before"),
])
def test_a_wrong_query_is_a_400_naming_it(served, query, named):
    url, _, _ = served
    response = HTTP.get(f"{url}/_mock/orders", params=query)
    assert response.status_code == 400 and named in response.json()["error"]


def test_the_list_endpoints_follow_the_control_apis_access_rules():
    app = create_app(build_panel(), admin_token="s3cret")
    with ServerThread(app) as server:
        for path in ("/_mock/orders", "/_mock/keys", "/_mock/refills"):
            assert HTTP.get(server.url + path).status_code == 401
            assert HTTP.get(server.url + path, headers={"X-Mock-Token": "s3cret"}).status_code == 200


def test_each_endpoint_describes_its_parameters_for_openapi():
    paths = openapi_paths()
    assert set(paths) == {"/_mock/orders", "/_mock/keys", "/_mock/refills"}
    names = {p["name"] for p in paths["/_mock/orders"]["get"]["parameters"]}
    assert names == {"key", "status", "service", "link", "limit", "before", "after"}
    for endpoint in LIST_ENDPOINTS:  # what the description says is what the parser takes
        assert set(endpoint.parse({})) == {p.name for p in endpoint.params}


def test_a_link_that_is_not_valid_unicode_still_lists(panel):
    from mockpanel._server.inprocess import inprocess_client
    from tests.helpers.common import KEY

    with inprocess_client(create_app(panel)) as client:
        body = b'{"key": "%s", "action": "add", "service": "1", "link": "https://x.test/\\ud800", "quantity": "100"}' % KEY.encode()
        placed = client.post("/api/v2", content=body, headers={"content-type": "application/json"}).json()
        listed = client.get("/_mock/orders")
    assert listed.status_code == 200
    if "order" in placed:  # unless the panel refused the link
        assert listed.json()["orders"][0]["link"] == "https://x.test/\ufffd"  # stored as text: U+FFFD
