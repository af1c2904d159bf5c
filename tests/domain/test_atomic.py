"""Every change is all or nothing: a failure at any step of add, cancel or refill leaves the
panel exactly as it was, and the panel goes on working (its columns stay in step)."""

from __future__ import annotations

import heapq
import itertools
from typing import Any, Callable

import pytest

from mockpanel._catalogs import load_catalog
from mockpanel._panel import snapshot
from mockpanel._domain import accounts
from mockpanel._domain import orderbook
from mockpanel._domain import orders
from mockpanel._domain import placing
from mockpanel._domain import panel as panel_module
from mockpanel._domain import refills as refills_module
from mockpanel._domain.account_book import AccountBook
from mockpanel._domain.clock import VirtualClock
from mockpanel._domain.errors import PanelError
from mockpanel._domain.lifecycle import Status
from mockpanel._domain.money import price
from mockpanel._domain.orderbook import COLUMNS
from mockpanel._panel.panel import Panel
from mockpanel._domain.plans import LifecycleSettings
from mockpanel._powers import triggers

KEY = "atomic-key"
_links = itertools.count()


class Injected(RuntimeError):
    """The failure a test plants inside a step."""


def make_panel() -> Panel:
    # Orders end Partial (a refund falls due) and refills are drawn: every step of a change runs.
    lifecycle = LifecycleSettings(completed_weight=1, partial_weight=1, canceled_weight=0)
    panel = Panel(catalog=load_catalog(), clock=VirtualClock(speed=0, start=1_700_000_000), seed=3, lifecycle=lifecycle)
    triggers.install(panel)
    panel.create_account(KEY, balance="1000")
    for _ in range(3):
        panel.add(KEY, "1", {"link": f"https://x.test/{next(_links)}", "quantity": "500"})
    return panel


def state(panel: Panel) -> dict[str, Any]:
    """Everything a change could touch. Refund heaps compare by content (a heap's order is not state)."""
    dump = snapshot.dump(panel.core)
    for account in dump["accounts"]:
        account["due"] = sorted(account["due"])
    book = panel.orders
    lengths = {name: len(getattr(book, name)) for name in COLUMNS} | {"links": len(book.links)}
    return {
        "dump": dump,
        "columns": lengths,
        "interned": (len(book.services.values), len(book.accounts.values), len(book.charges.values)),
        "extras": {row: dict(extra) for row, extra in book.extras.items()},
        "link_sweep_at": {a.id: a.link_sweep_at for a in panel.accounts()},
        "latest_by_link": {a.id: dict(a.latest_by_link) for a in panel.accounts()},
    }


def failing(target: Any, name: str, on_call: int) -> Callable[[pytest.MonkeyPatch], list[int]]:
    """A patch making ``target.name`` raise at its ``on_call``-th call; returns the call counter."""

    def plant(monkeypatch: pytest.MonkeyPatch) -> list[int]:
        calls = [0]

        def count() -> None:
            calls[0] += 1
            if calls[0] == on_call:
                raise Injected(f"{name} failed")

        prop = target.__dict__.get(name) if isinstance(target, type) else None
        if isinstance(prop, property):  # a column: fail on writing it
            monkeypatch.setattr(target, name, property(prop.fget, lambda self, v: (count(), prop.fset(self, v))))
        else:
            original = getattr(target, name)

            def step(*args: Any, **kwargs: Any) -> Any:
                count()
                return original(*args, **kwargs)

            monkeypatch.setattr(target, name, step)
        return calls

    return plant


ADD_STEPS = [
    (placing, "draw_plan"),
    (triggers, "plan_hook"),  # replaced in the panel's hook list below
    (placing, "dripfeed_speed"),
    (AccountBook, "schedule_row"),  # an add schedules its refund by its row
    (AccountBook, "settle"),
    (orderbook.OrderBook, "append_row"),
    (orderbook._Interned, "index"),
    (placing, "finish_time_of"),
    (orders.Order, "runs"),
    (orders.Order, "interval"),
    (accounts.Account, "schedule_refund"),
    (heapq, "heappush"),
]


def _plant(monkeypatch: pytest.MonkeyPatch, panel: Panel, target: Any, name: str, on_call: int) -> list[int]:
    calls = failing(target, name, on_call)(monkeypatch)
    if target is triggers and name == "plan_hook":  # the panel holds the hook itself
        monkeypatch.setattr(panel.core, "plan_hooks", [triggers.plan_hook])
    return calls


def _check_failure(panel: Panel, before: dict[str, Any], change: Callable[[], Any], calls: list[int], on_call: int) -> bool:
    """Run ``change``; if the planted failure fired, the state must be what it was. Returns whether it fired."""
    try:
        change()
    except Injected:
        assert state(panel) == before
        return True
    assert calls[0] < on_call, "the planted failure was reached but did not come out"
    return False


@pytest.mark.parametrize("target,name", ADD_STEPS, ids=[n for _, n in ADD_STEPS])
def test_a_failure_at_any_step_of_an_add_leaves_the_panel_as_it_was(monkeypatch, target, name):
    fired = 0
    for on_call in (1, 2, 3):
        panel = make_panel()
        if name == "settle":  # its step is reached only with a refund due: the orders end, and the add credits it
            panel.clock.advance(30 * 86400)
        else:
            panel.balance(KEY)  # refunds due by now are credited: what is left to compare is the add
        before = state(panel)
        with monkeypatch.context() as m:
            calls = _plant(m, panel, target, name, on_call)
            # A drip-feed add on a link with a trigger: every step of an add runs.
            link = f"https://x.test/{next(_links)}?mockpanel=partial-10,in-1h,start-7"
            fired += _check_failure(
                panel, before, lambda: panel.add(KEY, "1", {"link": link, "quantity": "100", "runs": "2", "interval": "5"}),
                calls, on_call,
            )
        after_ok(panel)
    assert fired, f"{name} was never reached by an add"


def after_ok(panel: Panel) -> None:
    """The panel goes on: a new order reads its own numbers, not a half-written row's."""
    order_id = panel.add(KEY, "1", {"link": f"https://x.test/{next(_links)}?mockpanel=start-42", "quantity": "321"})
    order = panel.find_order(order_id)
    assert (order.quantity, order.start_count, order.link.count("start-42")) == (321, 42, 1)
    assert {len(getattr(panel.orders, name)) for name in COLUMNS} == {len(panel.orders.links)}


CANCEL_STEPS = [
    (orders.Order, "stop"),
    (orders.Order, "delivered_at"),
    (AccountBook, "schedule"),
    (AccountBook, "settle"),
    (accounts.Account, "schedule_refund"),
    (orders.Order, "outcome"),
]


@pytest.mark.parametrize("target,name", CANCEL_STEPS, ids=[n for _, n in CANCEL_STEPS])
def test_a_failure_at_any_step_of_a_cancel_leaves_the_panel_as_it_was(monkeypatch, target, name):
    fired = 0
    for on_call in (1, 2, 3):
        panel = make_panel()
        order_id = panel.add(KEY, "1", {"link": f"https://x.test/{next(_links)}?mockpanel=in-1h", "quantity": "600"})
        panel.clock.advance(seconds=1200)  # In progress, part delivered: the cancel ends it Partial
        panel.balance(KEY)
        before = state(panel)
        with monkeypatch.context() as m:
            calls = _plant(m, panel, target, name, on_call)
            fired += _check_failure(panel, before, lambda: panel.cancel(KEY, order_id), calls, on_call)
        if panel.find_order(order_id).status_at(panel.clock.now()) is Status.IN_PROGRESS:
            panel.cancel(KEY, order_id)  # and a cancel still works afterwards
        assert panel.status(KEY, order_id).status is Status.PARTIAL
        after_ok(panel)
    assert fired, f"{name} was never reached by a cancel"


REFILL_STEPS = [
    (panel_module, "draw_refill_plan"),
    (triggers, "refill_hook"),
    (refills_module, "Refill"),
]


@pytest.mark.parametrize("target,name", REFILL_STEPS, ids=[n for _, n in REFILL_STEPS])
def test_a_failure_at_any_step_of_a_refill_leaves_the_panel_as_it_was(monkeypatch, target, name):
    fired = 0
    for on_call in (1, 2):
        panel = make_panel()
        order_id = panel.add(KEY, "20", {"link": f"https://x.test/{next(_links)}?mockpanel=completed,now", "quantity": "100"})
        panel.clock.advance(seconds=10)
        before = state(panel)
        with monkeypatch.context() as m:
            calls = failing(target, name, on_call)(m)
            if name == "refill_hook":
                m.setattr(panel.core, "refill_hooks", [triggers.refill_hook])
            failed = _check_failure(panel, before, lambda: panel.refill(KEY, order_id), calls, on_call)
        fired += failed
        refill_id = panel.refill(KEY, order_id)  # refills still work; a failed one used up no id
        assert refill_id == before["dump"]["next_refill"] + (0 if failed else 1)
    assert fired, f"{name} was never reached by a refill"


def test_a_refused_forced_status_changes_nothing():
    panel = make_panel()
    order_id = panel.add(KEY, "1", {"link": f"https://x.test/{next(_links)}?mockpanel=completed,now", "quantity": "100"})
    before = state(panel)
    with pytest.raises(ValueError, match="final status cannot change"):
        panel.set_order(order_id, status="Pending", start_count=5)  # start_count came first, then the refusal
    assert state(panel) == before


@pytest.mark.parametrize("link", [
    "https://a.test/?mockpanel=start-99999999999999999999",
    "https://a.test/?mockpanel=partial-99999999999999999999",
    "https://a.test/?mockpanel=start-1000000000001",
    "https://a.test/?mockpanel=start-1e5",
    "https://a.test/?mockpanel=partial-1.5",
    "https://a.test/?mockpanel=in-99999999999d",
])
def test_an_out_of_range_trigger_is_refused_before_anything_changes(link: str) -> None:
    panel = make_panel()
    before = state(panel)
    with pytest.raises(PanelError) as exc:
        panel.add(KEY, "1", {"link": link, "quantity": "100"})
    assert exc.value.values == {"field": "link"}
    assert state(panel) == before
    after_ok(panel)


def test_a_row_a_column_cannot_hold_is_not_appended() -> None:
    panel = make_panel()
    book = panel.orders
    before = state(panel)
    service = panel.catalog.get(1)
    for bad in (2**63, -(2**63) - 1, True, 1.5):
        with pytest.raises(ValueError, match="fits 64 bits"):
            book.append_row(key="k", service=service, link="l", quantity=bad, charge=price(service.rate, 1),
                            created=0.0, start_count=0, start_at=0.0, per_second=1.0, outcome=Status.COMPLETED, delivered_to=0)
    assert state(panel) == before


def test_a_restored_snapshot_keeps_the_order_ids_column_typed() -> None:
    panel = make_panel()
    restored = snapshot.load(snapshot.dump(panel.core))
    ids = restored.account(KEY).order_ids
    assert ids.__class__.__name__ == "array" and ids.typecode == "q"
    assert list(ids) == list(panel.account(KEY).order_ids)


def test_reads_wait_for_a_change_in_progress_on_another_thread():
    """The test thread changes the panel while the server reads it: reads take the panel lock."""
    import threading

    panel = make_panel()
    order_id = 10001
    reads = {
        "status": lambda: panel.status(KEY, order_id),
        "statuses": lambda: panel.statuses(KEY, [order_id]),
        "services": lambda: panel.services(KEY),
        "refill_status": lambda: panel.refill_status(KEY, 1),
        "keys_orders": lambda: panel.keys_orders(KEY),
        "find_order": lambda: panel.find_order(order_id),
        "balance": lambda: panel.balance(KEY),
    }
    for name, read in reads.items():
        done = threading.Event()

        def reader() -> None:
            try:
                read()
            except PanelError:
                pass
            done.set()

        with panel.lock:  # a change in progress
            thread = threading.Thread(target=reader)
            thread.start()
            assert not done.wait(0.1), f"{name} read the panel in the middle of a change"
        assert done.wait(5), f"{name} never finished"
        thread.join(5)


@pytest.mark.parametrize("change", [
    {"status": 5}, {"status": ["Completed"]}, {"remains": "abc"}, {"remains": 1.5}, {"remains": True},
    {"start_count": "\u0661"}, {"start_count": 2**70}, {"status": "Partial", "remains": {}},
])
def test_a_forced_change_of_the_wrong_type_is_a_value_error_and_changes_nothing(change):
    panel = make_panel()
    before = state(panel)
    with pytest.raises(ValueError):
        panel.set_order(10001, **change)
    with pytest.raises(ValueError):
        panel.set_outcome(10001, change.get("status", "Partial"), change.get("remains", change.get("start_count")))
    assert state(panel) == before
