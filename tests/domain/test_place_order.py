"""The domain places typed orders: its own rules hold for a caller that never spoke the wire,
and a typed request survives a state file's codec unchanged."""

from __future__ import annotations

import pytest

from mockpanel._catalogs import load_catalog
from mockpanel._panel.panel import Panel
from mockpanel._domain.clock import VirtualClock
from mockpanel._domain.errors import ErrorCode, PanelError
from mockpanel._domain.panel import PanelCore
from mockpanel._domain.servicetypes import OrderRequest
from mockpanel._persistence.codec import decode, dumps, encode, loads

KEY = "typed-orders-key"
NOW = 1_700_000_000.0


def domain_panel() -> PanelCore:
    panel = PanelCore(catalog=load_catalog("default"), clock=VirtualClock(speed=0, start=NOW), seed=2)
    panel.create_account(KEY, balance="100")
    return panel


def refused(panel: PanelCore, service: int, request: OrderRequest) -> PanelError:
    with pytest.raises(PanelError) as info:
        panel.place_order(KEY, service, request)
    return info.value


def test_a_typed_order_is_placed_and_charged() -> None:
    panel = domain_panel()
    order_id = panel.place_order(KEY, 1, OrderRequest("https://x.test/a", 100))
    charge = panel.orders[order_id].charge
    assert charge == panel.status(KEY, order_id).charge > 0 and panel.balance(KEY)[0] == 100 - charge


def test_the_domain_rules_hold_for_typed_requests() -> None:
    panel = domain_panel()
    assert refused(panel, 1, OrderRequest("https://x.test/a", 10)).code is ErrorCode.QUANTITY_BELOW_MIN  # min 50
    assert refused(panel, 1, OrderRequest("https://x.test/a", 20_000)).code is ErrorCode.QUANTITY_ABOVE_MAX
    assert refused(panel, 2, OrderRequest("https://x.test/a", 20, runs=2, interval=5)).code is ErrorCode.DRIPFEED_NOT_SUPPORTED
    assert refused(panel, 99, OrderRequest("https://x.test/a", 100)).code is ErrorCode.INCORRECT_SERVICE_ID
    assert refused(panel, 19, OrderRequest("https://x.test/a", 1_000_000)).code is ErrorCode.NOT_ENOUGH_FUNDS  # 450
    past = OrderRequest("someone", 0, details={"username": "someone", "min": 100, "max": 200, "delay": 0,
                                               "expiry": "01/01/2000"}, expires_at=946684800.0)
    error = refused(panel, 18, past)
    assert (error.code, error.values) == (ErrorCode.INVALID_FIELD, {"field": "expiry"})
    low = OrderRequest("someone", 0, details={"username": "someone", "min": 10, "max": 200, "delay": 0})
    assert refused(panel, 18, low).code is ErrorCode.QUANTITY_BELOW_MIN  # a subscription's per-post range
    panel.place_order(KEY, 1, OrderRequest("https://x.test/dup", 100))
    assert refused(panel, 1, OrderRequest("https://X.test/dup ", 100)).code is ErrorCode.ACTIVE_ORDER_WITH_LINK
    panel.update_service(1, enabled=False)
    assert refused(panel, 1, OrderRequest("https://x.test/b", 100)).code is ErrorCode.SERVICE_DISABLED
    assert len(panel.orders) == 1  # every refusal changed nothing


def test_an_unlimited_subscription_ends_at_its_typed_expiry() -> None:
    panel = domain_panel()
    expires_at = NOW + 86_400
    request = OrderRequest("someone", 0, details={"username": "someone", "min": 100, "max": 200, "delay": 0},
                           expires_at=expires_at)
    order = panel.orders[panel.place_order(KEY, 18, request)]
    assert order.expires_at == expires_at and order.done_at == expires_at


def test_the_wire_add_and_the_typed_order_give_the_same_order() -> None:
    wire, typed = Panel(catalog=load_catalog("default"), clock=VirtualClock(speed=0, start=NOW), seed=2), domain_panel()
    wire.create_account(KEY, balance="100")
    a = wire.orders[wire.add(KEY, "10", {"link": "https://x.test/c", "usernames": "one\r\ntwo\n\nthree", "junk": "x"})]
    b = typed.orders[typed.place_order(KEY, 10, OrderRequest("https://x.test/c", 3, details={"usernames": ["one", "two", "three"]}))]
    assert [getattr(a, f) for f in a.FIELDS] == [getattr(b, f) for f in b.FIELDS]


@pytest.mark.parametrize("request_", [
    OrderRequest("https://x.test/a", 100),
    OrderRequest("https://x.test/a", 300, runs=3, interval=10),
    OrderRequest("https://x.test/a", 2, details={"comments": ["a", "b"], "answer_number": 3}),
    OrderRequest("u", 0, details={"username": "u", "min": 1, "max": 2, "delay": 0, "expiry": "01/01/2031"},
                 expires_at=1924992000.0),
])
def test_a_typed_request_round_trips_through_the_codec(request_: OrderRequest) -> None:
    back = decode(loads(dumps(encode([request_]))))
    assert back == [request_] and type(back[0]) is OrderRequest
