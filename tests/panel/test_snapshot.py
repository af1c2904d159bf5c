"""Snapshots: the whole panel as JSON and back, exact, secret-free, and checked on load."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest

from mockpanel import VirtualClock, build_panel, create_app, inprocess_client
from mockpanel._panel import snapshot
from mockpanel._panel.panel import Panel
from mockpanel._panel.snapshot import StateError
from mockpanel._domain.errors import ErrorCode, PanelError
from mockpanel._powers import triggers
from tests.helpers.common import KEY

SECRET = "sk-live-0123456789abcdef-secret"


@pytest.fixture
def busy(panel):
    """A panel with a bit of everything: keys, orders in every state, refills, a removed key."""
    triggers.install(panel)
    panel.create_account(SECRET, balance="7.25", currency="EUR")
    panel.create_account("to-remove", balance="3")
    for i in range(6):
        panel.add(KEY, "1", {"link": f"https://x.test/{i}", "quantity": "1000"})
    panel.set_order(10001, status="Partial", remains=157)
    panel.set_outcome(10002, "Canceled")
    panel.add(KEY, "1", {"link": "https://x.test/stuck?mockpanel=pending", "quantity": "100"})
    panel.add("to-remove", "3", {"link": "https://x.test/r", "quantity": "100"})
    panel.add(SECRET, "2", {"link": "https://x.test/c", "comments": "a\nb\nc\nd\ne\nf\ng\nh\ni\nj"})
    panel.add(KEY, "1", {"link": "https://x.test/drip", "quantity": "100", "runs": "3", "interval": "10"})
    panel.remove_account("to-remove")
    panel.clock.advance(hours=3)
    done = panel.add(KEY, "20", {"link": "https://x.test/refill?mockpanel=completed,now", "quantity": "100"})
    panel.refill(KEY, done)
    panel.deposit(KEY, "0.10")
    panel.withdraw(SECRET, "0.25")
    panel.catalog.update(3, rate="0.30")
    return panel


def roundtrip(panel):
    """A new panel restored from ``panel``'s state as JSON."""
    twin = Panel(clock=VirtualClock(speed=panel.clock.speed))
    snapshot.restore(twin.core, json.loads(json.dumps(snapshot.dump(panel.core))))
    return twin


def test_dump_load_dump_is_the_same_state(busy):
    first = snapshot.dump(busy.core)
    again = snapshot.dump(roundtrip(busy).core)
    assert again == first


def test_a_restored_panel_behaves_as_the_original_from_then_on(busy):
    twin = roundtrip(busy)
    for name in (KEY, SECRET):
        assert twin.balance(name) == busy.balance(name)
        assert twin.ledger(name) == busy.ledger(name)
    # The same next orders (same ids, same seeded plans) and the same futures.
    a = busy.add(KEY, "1", {"link": "https://x.test/next", "quantity": "500"})
    b = twin.add(KEY, "1", {"link": "https://x.test/next", "quantity": "500"})
    assert a == b
    for hours in (0.1, 1, 24, 24 * 40):
        busy.clock.advance(hours=hours)
        twin.clock.advance(hours=hours)
        ids = sorted(busy.orders)
        assert ids == sorted(twin.orders)
        assert [busy.orders[i].state(busy.clock.now()) for i in ids] == [twin.orders[i].state(twin.clock.now()) for i in ids]
        assert twin.balance(KEY) == busy.balance(KEY)
    assert twin.refill_status(KEY, 501) == busy.refill_status(KEY, 501)


def test_a_state_with_the_old_link_schedule_loads_and_still_refuses_active_links(busy):
    """States once kept the ends of the duplicate-link index's orders ("link_due") beside it: such a
    state loads (the list is not needed: the index is swept of finished orders) and keeps the rule."""
    data = json.loads(json.dumps(snapshot.dump(busy.core)))
    account = next(a for a in data["accounts"] if a["latest_by_link"])
    assert "link_due" not in account
    account["link_due"] = [[1e12, oid, sid, link] for sid, link, oid in account["latest_by_link"]]
    twin = Panel(clock=VirtualClock(speed=0))
    snapshot.restore(twin.core, data)
    assert snapshot.dump(twin.core) == snapshot.dump(busy.core)  # not kept: written as before
    active = busy.add(KEY, "1", {"link": "https://x.test/active", "quantity": "500"})
    twin_active = twin.add(KEY, "1", {"link": "https://x.test/active", "quantity": "500"})
    assert twin_active == active
    for p in (busy, twin):
        with pytest.raises(PanelError) as info:
            p.add(KEY, "1", {"link": "https://x.test/active", "quantity": "500"})
        assert info.value.code is ErrorCode.ACTIVE_ORDER_WITH_LINK


def test_ids_of_a_removed_key_are_not_issued_again(busy):
    twin = roundtrip(busy)
    assert 10008 not in twin.orders  # the removed key's order
    assert twin.add(KEY, "1", {"link": "https://x.test/new", "quantity": "100"}) == busy.orders.next_id


def test_the_state_holds_no_key(busy):
    text = json.dumps(snapshot.dump(busy.core))
    assert SECRET not in text and KEY not in text
    assert roundtrip(busy).balance(SECRET) == busy.balance(SECRET)  # the key still opens its account


def test_money_is_written_as_exact_strings(busy):
    data = snapshot.dump(busy.core)
    account = next(a for a in data["accounts"] if a["currency"] == "EUR")
    assert isinstance(account["balance"], str) and Decimal(account["balance"]) == busy.balance(SECRET)[0]
    assert all(isinstance(row[data["orders"]["fields"].index("charge")], str) for row in data["orders"]["rows"])


def test_never_is_written_as_null(busy):
    data = snapshot.dump(busy.core)
    fields = data["orders"]["fields"]
    stuck = next(r for r in data["orders"]["rows"] if "stuck" in r[fields.index("link")])
    assert stuck[fields.index("start_at")] is None and stuck[fields.index("done_at")] is None
    json.dumps(data, allow_nan=False)  # strict JSON: no Infinity anywhere


def test_restore_in_place_keeps_hooks_and_serves_the_new_state(busy, panel):
    data = snapshot.dump(busy.core)
    fresh_app = create_app(build_panel(clock=VirtualClock(speed=0)))
    target = fresh_app.state.panel
    hooks = list(target.plan_hooks)
    snapshot.restore(target.core, data)
    assert target.plan_hooks == hooks and target.balance(KEY) == busy.balance(KEY)
    with inprocess_client(fresh_app) as client:
        r = client.post("/api/v2", data={"key": KEY, "action": "status", "order": "10002"})
    assert r.json()["status"] == busy.status(KEY, 10002).status.value


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.clear(), "not a mockpanel state"),
        (lambda d: d.update(format="other"), "not a mockpanel state"),
        (lambda d: d.update(version=99), "version 99 is not supported"),
        (lambda d: d.pop("accounts"), "missing field 'accounts'"),
        (lambda d: d["settings"].update(colour=1), "unknown settings"),
        (lambda d: d["orders"]["fields"].append("extra"), "written by another version"),
        (lambda d: d["orders"]["rows"][0].pop(), "values, not"),
        (lambda d: d["accounts"][0].update(digest="abcd"), "digest"),
        (lambda d: d["accounts"][0].update(balance=1.5), "floats cannot hold money"),
        (lambda d: d["catalog"][0].update(rate="free"), "rate"),
    ],
)
def test_a_damaged_or_foreign_state_gets_a_clear_error(busy, change, message):
    data = copy.deepcopy(snapshot.dump(busy.core))
    change(data)
    with pytest.raises(StateError, match=message):
        snapshot.load(data)


def test_load_refuses_what_is_not_an_object():
    for data in (None, [], "state", 3):
        with pytest.raises(StateError, match="not a mockpanel state"):
            snapshot.load(data)


def test_money_in_a_state_is_exact_and_never_an_exponent():
    panel = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=1)
    panel.create_account("spent-key", balance="0.09")
    panel.add("spent-key", "1", {"link": "https://x.test/all", "quantity": "100"})  # 0.0900000: the balance is 0E-7
    data = snapshot.dump(panel.core)
    (account,) = data["accounts"]
    assert account["balance"] == "0.0000000"
    assert "E-" not in json.dumps(data)
    restored = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=1)
    restored.restore_snapshot(data)
    assert restored.balance("spent-key")[0] == 0
