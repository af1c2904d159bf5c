"""Panel: every action and its errors, money, key isolation, forced states, determinism."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any, Callable

import pytest

from mockpanel._domain.accounts import LINK_SWEEP_MIN, key_id
from mockpanel._catalogs import load_catalog
from mockpanel._domain.clock import VirtualClock
from mockpanel._domain.errors import ErrorCode, PanelError
from mockpanel._domain.lifecycle import RefillStatus, Status
from mockpanel._domain.money import share
from mockpanel._domain.orders import OrderState
from mockpanel._panel.panel import Panel
from mockpanel._domain.plans import LifecycleSettings

KEY, OTHER = "key-A-secret", "key-B-secret"
D = Decimal
COMPLETE = LifecycleSettings(completed_weight=1, partial_weight=0, canceled_weight=0)
_links = itertools.count()


def make_panel(seed: int = 1, **settings: Any) -> Panel:
    """A frozen clock, the default catalogue, two keys with 100 USD each."""
    settings.setdefault("lifecycle", COMPLETE)
    panel = Panel(catalog=load_catalog(), clock=VirtualClock(speed=0, start=1_700_000_000), seed=seed, **settings)
    panel.create_account(KEY, balance="100")
    panel.create_account(OTHER, balance="100")
    return panel


@pytest.fixture
def panel() -> Panel:
    return make_panel()


def params(service: int, **extra: str) -> dict[str, str]:
    """A valid ``add`` for the default catalogue's service, on a fresh link."""
    link = f"https://x.test/{next(_links)}"
    by_service = {
        1: {"link": link, "quantity": "100"},
        2: {"link": link, "comments": "\n".join(f"comment {i}" for i in range(10))},
        3: {"link": link, "quantity": "100"},
        5: {"link": link},
        7: {"link": link, "comments": "a\nb"},
        18: {"username": f"user{next(_links)}", "min": "100", "max": "200", "delay": "0"},
        20: {"link": link, "quantity": "100"},
    }
    return {**by_service[service], **extra}


def add(panel: Panel, service: int = 1, key: str = KEY, **extra: str) -> int:
    return panel.add(key, str(service), params(service, **extra))


def code_of(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> PanelError:
    with pytest.raises(PanelError) as info:
        fn(*args, **kwargs)
    return info.value


def to_end(panel: Panel, order_id: int) -> OrderState:
    """Move the clock to the moment the order shows its outcome."""
    panel.clock.set_time(max(panel.clock.now(), panel.find_order(order_id).done_at))
    return panel.status(KEY if panel.find_order(order_id).key == key_id(KEY) else OTHER, order_id)


def to_start(panel: Panel, order_id: int, plus: float = 0.0) -> None:
    panel.clock.set_time(panel.find_order(order_id).start_at + plus)


def balance(panel: Panel, key: str = KEY) -> Decimal:
    return panel.balance(key)[0]


def ledger_sum(panel: Panel, key: str = KEY) -> Decimal:
    return sum((e.signed for e in panel.ledger(key)), D(0))


# --- accounts -------------------------------------------------------------------------------


def test_invalid_keys(panel: Panel) -> None:
    for key in ["", "nope", None, 123, KEY + " ", KEY.upper()]:
        assert code_of(panel.balance, key).code is ErrorCode.INVALID_KEY
        assert code_of(panel.add, key, "1", params(1)).code is ErrorCode.INVALID_KEY
        assert code_of(panel.services, key).code is ErrorCode.INVALID_KEY


def test_an_invalid_key_error_does_not_carry_the_key(panel: Panel) -> None:
    exc = code_of(panel.balance, "wrong-secret-key")
    assert "wrong-secret-key" not in repr(exc) + str(exc)


def test_create_account_rules(panel: Panel) -> None:
    with pytest.raises(ValueError, match="already exists"):
        panel.create_account(KEY)
    with pytest.raises(ValueError, match="cannot be negative"):
        panel.create_account("k3", balance="-1")
    with pytest.raises(ValueError, match="not float"):
        panel.create_account("k3", balance=1.5)
    with pytest.raises(ValueError, match="non-empty string"):
        panel.create_account("")
    made = panel.create_account(balance="5", currency="EUR")
    assert len(made.key) == 32 and panel.balance(made.key) == (D("5"), "EUR")
    assert panel.balance(KEY) == (D("100"), "USD")
    assert panel.create_account("k4").balance == 0 and panel.ledger("k4") == []


def test_deposit_and_withdraw(panel: Panel) -> None:
    assert panel.deposit(KEY, "10.5") == D("110.5")
    assert panel.withdraw(KEY, "0.5") == D("110")
    assert panel.withdraw(KEY, "1000") == D(0)  # never below zero
    assert balance(panel) == 0 == ledger_sum(panel)
    kinds = [(e.kind, e.signed) for e in panel.ledger(KEY)]
    assert kinds == [("deposit", D("100")), ("deposit", D("10.5")), ("withdrawal", D("-0.5")), ("withdrawal", D("-110"))]
    for bad in ("0", "-1"):
        with pytest.raises(ValueError, match="must be positive"):
            panel.withdraw(KEY, bad)
        with pytest.raises(ValueError, match="must be positive"):
            panel.deposit(KEY, bad)
    assert code_of(panel.withdraw, "nope", "1").code is ErrorCode.INVALID_KEY
    assert balance(panel, OTHER) == D("100")


def test_withdraw_at_zero_writes_nothing(panel: Panel) -> None:
    panel.withdraw(KEY, "100")
    entries = len(panel.ledger(KEY))
    assert panel.withdraw(KEY, "1") == 0
    assert len(panel.ledger(KEY)) == entries


def test_remove_account_takes_its_orders_and_refills(panel: Panel) -> None:
    oid = add(panel, 1)
    to_end(panel, oid)
    first = panel.refill(KEY, oid)
    panel.set_refill(first, "Completed")
    second = panel.refill(KEY, oid)  # the order's newest refill; ``first`` is older
    other = add(panel, 1, key=OTHER)
    panel.remove_account(KEY)
    assert code_of(panel.balance, KEY).code is ErrorCode.INVALID_KEY
    with pytest.raises(KeyError, match=f"no order {oid}"):
        panel.find_order(oid)
    for refill in (first, second):
        with pytest.raises(KeyError, match=f"no refill {refill}"):
            panel.set_refill(refill, "Rejected")
    assert panel.status(OTHER, other).status is not None  # the other key is untouched
    assert code_of(panel.remove_account, KEY).code is ErrorCode.INVALID_KEY


# --- services, add, money ---------------------------------------------------------------------


def test_services_lists_enabled_services(panel: Panel) -> None:
    assert [s.id for s in panel.services(KEY)] == list(range(1, 21))
    panel.catalog.update(4, enabled=False)
    assert 4 not in [s.id for s in panel.services(KEY)]
    add(panel, 3)
    panel.catalog.update(3, enabled=False)
    assert code_of(add, panel, 3).code is ErrorCode.SERVICE_DISABLED


@pytest.mark.parametrize(
    "service, extra, charge",
    [
        (1, {}, "0.0900000"),  # 0.90 x 100 / 1000
        (2, {}, "0.0800000"),  # 8 x 10 lines / 1000
        (5, {}, "5.50"),  # package: flat
        (7, {}, "3.00"),  # custom comments package: flat
        (1, {"runs": "10", "interval": "60"}, "0.9000000"),  # drip-feed: on 100 x 10
        (18, {}, "0"),  # subscription: nothing at creation
    ],
)
def test_charges(panel: Panel, service: int, extra: dict[str, str], charge: str) -> None:
    oid = add(panel, service, **extra)
    assert panel.status(KEY, oid).charge == D(charge)
    assert balance(panel) == D("100") - D(charge) == ledger_sum(panel)
    assert balance(panel, OTHER) == D("100")


def test_order_ids_and_first_state(panel: Panel) -> None:
    first, second = add(panel, 1), add(panel, 3, key=OTHER)
    assert (first, second) == (10001, 10002)
    state = panel.status(KEY, first)
    assert (state.status, state.remains, state.start_count, state.delivered) == (Status.PENDING, 100, 0, 0)


@pytest.mark.parametrize("service_id", ["999", "0", "abc", "", " ", "1.5", None, "-1"])
def test_incorrect_service_id(panel: Panel, service_id: object) -> None:
    assert code_of(panel.add, KEY, service_id, params(1)).code is ErrorCode.INCORRECT_SERVICE_ID
    assert balance(panel) == 100 and panel.orders == {}


def test_field_errors_come_from_the_service_type(panel: Panel) -> None:
    exc = code_of(panel.add, KEY, "1", {"link": "https://x.test/q", "quantity": "49"})
    assert exc.code is ErrorCode.QUANTITY_BELOW_MIN and exc.values == {"min": 50}
    exc = code_of(panel.add, KEY, "1", {"link": "https://x.test/q"})
    assert exc.code is ErrorCode.MISSING_FIELD and exc.values == {"field": "quantity"}
    panel.catalog.update(3, dripfeed=False)
    exc = code_of(panel.add, KEY, "3", {"link": "https://x.test/q", "quantity": "100", "runs": "2", "interval": "5"})
    assert exc.code is ErrorCode.DRIPFEED_NOT_SUPPORTED
    assert balance(panel) == 100 and panel.orders == {}


def test_not_enough_funds_charges_nothing_and_changes_nothing() -> None:
    panel, twin = make_panel(), make_panel()
    for p in (panel, twin):
        p.create_account("poor", balance="0.08")
    entries = panel.ledger("poor")
    assert code_of(panel.add, "poor", "1", params(1)).code is ErrorCode.NOT_ENOUGH_FUNDS
    assert balance(panel, "poor") == D("0.08") and panel.ledger("poor") == entries
    assert panel.orders == {}
    # The failed add used no id and no randomness: the next order is what it would have been.
    assert panel.add("poor", "2", params(2)) == twin.add("poor", "2", params(2))
    a, b = panel.find_order(10001), twin.find_order(10001)
    assert (a.start_at, a.per_second, a.start_count) == (b.start_at, b.per_second, b.start_count)
    assert balance(panel, "poor") == 0 == ledger_sum(panel, "poor")


def test_exactly_enough_funds(panel: Panel) -> None:
    panel.create_account("exact", balance="0.09")
    add(panel, 1, key="exact")
    assert balance(panel, "exact") == 0
    assert code_of(add, panel, 1, key="exact").code is ErrorCode.NOT_ENOUGH_FUNDS


def test_refunds_due_pay_for_the_next_order() -> None:
    panel = make_panel()
    panel.create_account("poor", balance="0.09")
    oid = add(panel, 1, key="poor")
    panel.cancel("poor", oid)
    add(panel, 1, key="poor")  # paid with the refund
    assert balance(panel, "poor") == 0


# --- duplicate links -------------------------------------------------------------------------


def test_active_order_with_link_per_service(panel: Panel) -> None:
    p = params(1)
    oid = panel.add(KEY, "1", p)
    exc = code_of(panel.add, KEY, "1", {**p, "link": "  " + p["link"].upper() + " "})
    assert exc.code is ErrorCode.ACTIVE_ORDER_WITH_LINK
    assert balance(panel) == D("100") - D("0.09")
    panel.add(KEY, "3", p)  # another service: allowed under scope "service"
    panel.add(OTHER, "1", p)  # another key: its own orders
    to_end(panel, oid)
    panel.add(KEY, "1", p)  # the first one is final now


def test_active_order_with_link_any_service() -> None:
    panel = make_panel(duplicate_links="any")
    p = params(1)
    panel.add(KEY, "1", p)
    assert code_of(panel.add, KEY, "3", p).code is ErrorCode.ACTIVE_ORDER_WITH_LINK


def test_duplicate_links_off() -> None:
    panel = make_panel(duplicate_links="off")
    p = params(1)
    assert panel.add(KEY, "1", p) != panel.add(KEY, "1", p)


def test_dripfeed_is_exempt_from_the_link_rule(panel: Panel) -> None:
    p = params(1, runs="2", interval="10")
    panel.add(KEY, "1", p)
    panel.add(KEY, "1", p)
    plain = {k: v for k, v in p.items() if k not in ("runs", "interval")}
    panel.add(KEY, "1", plain)
    assert code_of(panel.add, KEY, "1", plain).code is ErrorCode.ACTIVE_ORDER_WITH_LINK


# --- status ------------------------------------------------------------------------------------


def test_lifecycle_through_status(panel: Panel) -> None:
    oid = add(panel, 1)
    order = panel.find_order(oid)
    assert panel.status(KEY, oid).status is Status.PENDING
    to_start(panel, oid, plus=30)
    running = panel.status(KEY, oid)
    assert running.status is Status.IN_PROGRESS and running.start_count == order.start_count
    assert 0 < running.remains < 100
    done = to_end(panel, oid)
    assert (done.status, done.remains, done.charge) == (Status.COMPLETED, 0, D("0.09"))
    assert balance(panel) == D("99.91")


def test_natural_partial_and_canceled_settle_refunds_lazily() -> None:
    panel = make_panel()
    partial, canceled = add(panel, 1), add(panel, 3)
    panel.set_outcome(partial, "Partial", remains=30)
    panel.set_outcome(canceled, "Canceled")
    end = max(panel.find_order(partial).done_at, panel.find_order(canceled).done_at)
    assert balance(panel) == D("100") - D("0.09") - D("0.025")
    panel.clock.set_time(end)
    refund = share(D("0.09"), 30, 100)
    assert balance(panel) == D("100") - D("0.09") + refund == ledger_sum(panel)  # 3 refunded in full
    refunds = [e for e in panel.ledger(KEY) if e.kind == "refund"]
    assert {(e.order, e.amount) for e in refunds} == {(partial, refund), (canceled, D("0.025"))}
    assert {e.at for e in refunds} == {panel.find_order(partial).done_at, panel.find_order(canceled).done_at}
    assert panel.status(KEY, partial).charge == D("0.09") - refund
    assert panel.status(KEY, canceled).charge == 0


def test_status_of_unknown_or_foreign_orders(panel: Panel) -> None:
    mine = add(panel, 1)
    theirs = add(panel, 1, key=OTHER)
    for bad in (theirs, 99999, None, str(mine), True):
        assert code_of(panel.status, KEY, bad).code is ErrorCode.INCORRECT_ORDER_ID
    results = panel.statuses(KEY, [mine, theirs, None, 99999, mine])
    assert [type(r).__name__ for r in results] == ["OrderState", "PanelError", "PanelError", "PanelError", "OrderState"]
    assert all(r.code is ErrorCode.INCORRECT_ORDER_ID for r in results if isinstance(r, PanelError))


def test_batch_limits(panel: Panel) -> None:
    oid = add(panel, 1)
    assert len(panel.statuses(KEY, [oid] * 100)) == 100
    for fn in (panel.statuses, panel.cancel_many, panel.refill_many, panel.refill_statuses):
        exc = code_of(fn, KEY, [oid] * 101)
        assert exc.code is ErrorCode.TOO_MANY_IDS and exc.values == {"limit": 100}
        assert code_of(fn, KEY, []).code is ErrorCode.INCORRECT_ORDER_ID
    assert panel.status(KEY, oid).status is Status.PENDING  # the refused cancel did nothing
    small = make_panel(batch_limit=3)
    assert code_of(small.statuses, KEY, [1, 2, 3, 4]).values == {"limit": 3}


# --- cancel ------------------------------------------------------------------------------------


def test_cancel_while_pending_refunds_everything(panel: Panel) -> None:
    oid = add(panel, 1)
    panel.cancel(KEY, oid)
    state = panel.status(KEY, oid)
    assert (state.status, state.remains, state.charge, state.start_count) == (Status.CANCELED, 100, 0, 0)
    assert balance(panel) == 100 == ledger_sum(panel)


def test_cancel_in_progress_ends_partial_with_the_undelivered_share_refunded(panel: Panel) -> None:
    oid = add(panel, 1)
    order = panel.find_order(oid)
    to_start(panel, oid, plus=(order.done_at - order.start_at) / 3)
    delivered = panel.status(KEY, oid).delivered
    assert 0 < delivered < 100
    panel.cancel(KEY, oid)
    state = panel.status(KEY, oid)
    refund = share(D("0.09"), 100 - delivered, 100)
    assert (state.status, state.remains, state.charge) == (Status.PARTIAL, 100 - delivered, D("0.09") - refund)
    assert balance(panel) == D("100") - D("0.09") + refund == ledger_sum(panel)
    panel.clock.advance(days=10)
    assert panel.status(KEY, oid) == state  # nothing delivered after the cancel


def test_cancel_errors(panel: Panel) -> None:
    no_cancel = add(panel, 3)  # service 3: cancel false
    assert code_of(panel.cancel, KEY, no_cancel).code is ErrorCode.CANCEL_DISABLED
    done = add(panel, 1)
    to_end(panel, done)
    assert code_of(panel.cancel, KEY, done).code is ErrorCode.CANCEL_NOT_ALLOWED
    canceled = add(panel, 1)
    panel.cancel(KEY, canceled)
    assert code_of(panel.cancel, KEY, canceled).code is ErrorCode.CANCEL_NOT_ALLOWED
    assert code_of(panel.cancel, KEY, 424242).code is ErrorCode.INCORRECT_ORDER_ID
    assert balance(panel) == D("100") - D("0.09") - D("0.025")  # 3: 0.25 x 100; 1 done; 1 refunded


def test_cancel_many_reports_per_order(panel: Panel) -> None:
    good, no_cancel, theirs = add(panel, 1), add(panel, 3), add(panel, 1, key=OTHER)
    results = panel.cancel_many(KEY, [good, no_cancel, theirs, None])
    assert results[0] is None
    assert [r.code for r in results[1:]] == [
        ErrorCode.CANCEL_DISABLED, ErrorCode.INCORRECT_ORDER_ID, ErrorCode.INCORRECT_ORDER_ID,
    ]
    assert panel.status(KEY, good).status is Status.CANCELED
    assert panel.status(OTHER, theirs).status is Status.PENDING


# --- refill --------------------------------------------------------------------------------------


def test_refill_lifecycle_completed(panel: Panel) -> None:
    oid = add(panel, 1)
    to_end(panel, oid)
    rid = panel.refill(KEY, oid)
    assert rid == 501
    assert panel.refill_status(KEY, rid) is RefillStatus.PENDING
    refill = panel.refills[rid]
    panel.clock.set_time(refill.start_at)
    assert panel.refill_status(KEY, rid) is RefillStatus.IN_PROGRESS
    assert code_of(panel.refill, KEY, oid).code is ErrorCode.REFILL_ALREADY_ACTIVE
    panel.clock.set_time(refill.done_at)
    assert panel.refill_status(KEY, rid) is RefillStatus.COMPLETED
    assert panel.refill(KEY, oid) == 502  # the previous one is over
    assert balance(panel) == D("99.91")  # refills are free


def test_refill_rejected() -> None:
    panel = make_panel(lifecycle=LifecycleSettings(completed_weight=1, partial_weight=0, canceled_weight=0, refill_rejected_weight=1))
    oid = add(panel, 20)
    to_end(panel, oid)
    rid = panel.refill(KEY, oid)
    panel.clock.set_time(panel.refills[rid].done_at)
    assert panel.refill_status(KEY, rid) is RefillStatus.REJECTED
    panel.refill(KEY, oid)  # a rejected refill may be asked again


def test_refill_only_for_completed_orders_of_refill_services(panel: Panel) -> None:
    no_refill = add(panel, 3)
    to_end(panel, no_refill)
    assert code_of(panel.refill, KEY, no_refill).code is ErrorCode.REFILL_DISABLED
    oid = add(panel, 1)
    assert code_of(panel.refill, KEY, oid).code is ErrorCode.REFILL_NOT_ALLOWED  # Pending
    to_start(panel, oid, plus=1)
    assert code_of(panel.refill, KEY, oid).code is ErrorCode.REFILL_NOT_ALLOWED  # In progress
    partial = add(panel, 1)
    to_start(panel, partial, plus=1)
    panel.set_order(partial, status="Partial", remains=50)
    assert code_of(panel.refill, KEY, partial).code is ErrorCode.REFILL_NOT_ALLOWED
    canceled = add(panel, 1)
    panel.cancel(KEY, canceled)
    assert code_of(panel.refill, KEY, canceled).code is ErrorCode.REFILL_NOT_ALLOWED
    assert code_of(panel.refill, KEY, 424242).code is ErrorCode.INCORRECT_ORDER_ID
    assert panel.refills == {}


def test_refill_after_partial_when_the_dialect_allows_it() -> None:
    panel = make_panel(refill_after_partial=True)
    oid = add(panel, 1)
    to_start(panel, oid, plus=1)
    panel.set_order(oid, status="Partial", remains=50)
    assert panel.refill(KEY, oid) == 501


def test_refill_batches_and_unknown_refills(panel: Panel) -> None:
    a, b = add(panel, 1), add(panel, 3)
    to_end(panel, a)
    to_end(panel, b)
    results = panel.refill_many(KEY, [a, b, None])
    assert results[0] == 501
    assert [r.code for r in results[1:]] == [ErrorCode.REFILL_DISABLED, ErrorCode.INCORRECT_ORDER_ID]
    statuses = panel.refill_statuses(KEY, [501, 999, None])
    assert statuses[0] is RefillStatus.PENDING
    assert [r.code for r in statuses[1:]] == [ErrorCode.INCORRECT_REFILL_ID] * 2
    assert code_of(panel.refill_status, KEY, 999).code is ErrorCode.INCORRECT_REFILL_ID


# --- key isolation ---------------------------------------------------------------------------------


def test_a_key_cannot_see_or_touch_another_keys_orders(panel: Panel) -> None:
    theirs = add(panel, 1, key=OTHER)
    to_end(panel, theirs)
    rid = panel.refill(OTHER, theirs)
    other_balance, other_ledger = balance(panel, OTHER), panel.ledger(OTHER)
    assert code_of(panel.status, KEY, theirs).code is ErrorCode.INCORRECT_ORDER_ID
    assert code_of(panel.cancel, KEY, theirs).code is ErrorCode.INCORRECT_ORDER_ID
    assert code_of(panel.refill, KEY, theirs).code is ErrorCode.INCORRECT_ORDER_ID
    assert code_of(panel.refill_status, KEY, rid).code is ErrorCode.INCORRECT_REFILL_ID
    assert all(isinstance(r, PanelError) for r in panel.statuses(KEY, [theirs]))
    assert all(isinstance(r, PanelError) for r in panel.refill_statuses(KEY, [rid]))
    assert list(panel.keys_orders(KEY)) == []
    assert [o.id for o in panel.keys_orders(OTHER)] == [theirs]
    assert (balance(panel, OTHER), panel.ledger(OTHER)) == (other_balance, other_ledger)
    assert panel.refill_status(OTHER, rid) is RefillStatus.PENDING


def test_orders_store_a_key_id_never_the_key(panel: Panel) -> None:
    oid = add(panel, 1)
    order = panel.find_order(oid)
    assert order.key == key_id(KEY) and KEY not in order.key
    to_end(panel, oid)
    refill = panel.refills[panel.refill(KEY, oid)]
    assert refill.key == key_id(KEY)


# --- forcing states ----------------------------------------------------------------------------------


def test_forced_partial_refunds_exactly_like_a_natural_one() -> None:
    natural, forced = make_panel(), make_panel()
    a, b = add(natural, 1), add(forced, 1)
    natural.set_outcome(a, "Partial", remains=30)
    end = to_end(natural, a)
    to_start(forced, b, plus=1)
    state = forced.set_order(b, status="Partial", remains=30)
    assert (state.status, state.remains, state.charge) == (end.status, end.remains, end.charge) == (
        Status.PARTIAL, 30, D("0.09") - share(D("0.09"), 30, 100),
    )
    assert balance(forced) == balance(natural) == ledger_sum(forced) == ledger_sum(natural)


def test_forced_canceled_refunds_exactly_like_a_natural_one() -> None:
    natural, forced = make_panel(), make_panel()
    a, b = add(natural, 1), add(forced, 1)
    natural.set_outcome(a, "Canceled")
    end = to_end(natural, a)
    state = forced.set_order(b, status="Cancelled")
    assert (state.status, state.remains, state.charge) == (end.status, end.remains, end.charge) == (Status.CANCELED, 100, 0)
    assert balance(forced) == balance(natural) == 100


def test_forced_completed(panel: Panel) -> None:
    oid = add(panel, 1)
    state = panel.set_order(oid, status="Completed")
    assert (state.status, state.remains, state.charge) == (Status.COMPLETED, 0, D("0.09"))
    assert panel.refill(KEY, oid) == 501


def test_forced_moves_never_go_backwards(panel: Panel) -> None:
    oid = add(panel, 1)
    to_start(panel, oid, plus=5)
    before = panel.status(KEY, oid)
    with pytest.raises(ValueError, match=f"order {oid} is In progress; it cannot go back to Pending"):
        panel.set_order(oid, status="Pending")
    delivered = before.delivered
    with pytest.raises(ValueError, match=f"has delivered {delivered} already; remains=100 would undo delivery"):
        panel.set_order(oid, remains=100)
    assert panel.status(KEY, oid) == before
    panel.set_order(oid, status="Completed")
    for status in ("Pending", "In progress", "Partial", "Canceled", "Completed"):
        with pytest.raises(ValueError, match="already Completed; a final status cannot change"):
            panel.set_order(oid, status=status)
    assert balance(panel) == D("99.91")


def test_set_order_argument_errors(panel: Panel) -> None:
    oid = add(panel, 1)
    with pytest.raises(ValueError, match=r"remains must be between 0 and the quantity 100, got 101"):
        panel.set_order(oid, remains=101)
    with pytest.raises(ValueError, match=r"a Partial order needs 0 < remains < quantity \(100\), got 100"):
        panel.set_order(oid, status="Partial")  # nothing delivered yet
    with pytest.raises(ValueError, match="start_count must be >= 0"):
        panel.set_order(oid, start_count=-1)
    with pytest.raises(ValueError, match="unknown order status 'Done'"):
        panel.set_order(oid, status="Done")
    with pytest.raises(KeyError, match="no order 424242"):
        panel.set_order(424242, status="Completed")
    assert panel.status(KEY, oid).status is Status.PENDING and balance(panel) == D("99.91")


def test_set_order_pending_holds_and_in_progress_resumes(panel: Panel) -> None:
    oid = add(panel, 1)
    panel.set_order(oid, status="Pending")
    panel.clock.advance(days=30)
    assert panel.status(KEY, oid).status is Status.PENDING
    state = panel.set_order(oid, status="In progress", remains=60)
    assert (state.status, state.remains, state.delivered) == (Status.IN_PROGRESS, 60, 40)
    assert to_end(panel, oid).status is Status.COMPLETED


def test_set_order_start_count_only(panel: Panel) -> None:
    oid = add(panel, 1)
    to_start(panel, oid, plus=1)
    state = panel.set_order(oid, start_count=777)
    assert (state.status, state.start_count) == (Status.IN_PROGRESS, 777)


def test_set_outcome(panel: Panel) -> None:
    oid = add(panel, 1)
    with pytest.raises(ValueError, match="an outcome is Completed, Partial or Canceled, not In progress"):
        panel.set_outcome(oid, "In progress")
    to_start(panel, oid, plus=5)
    with pytest.raises(ValueError, match="only a Pending order can be planned to end Canceled"):
        panel.set_outcome(oid, "Canceled")
    delivered = panel.status(KEY, oid).delivered
    with pytest.raises(ValueError, match="would undo delivery"):
        panel.set_outcome(oid, "Partial", remains=100 - delivered + 1)
    panel.set_outcome(oid, "Partial", remains=20)
    assert panel.status(KEY, oid).status is Status.IN_PROGRESS  # ends later, not now
    end = to_end(panel, oid)
    assert (end.status, end.remains) == (Status.PARTIAL, 20)
    with pytest.raises(ValueError, match=f"order {oid} has already ended"):
        panel.set_outcome(oid, "Completed")


def test_set_outcome_partial_without_remains_never_undoes_delivery(panel: Panel) -> None:
    oid = add(panel, 1)
    order = panel.find_order(oid)
    to_start(panel, oid, plus=(order.done_at - order.start_at) * 0.8)
    delivered = panel.status(KEY, oid).delivered
    assert delivered > 50
    panel.set_outcome(oid, "Partial")
    end = to_end(panel, oid)
    assert end.status is Status.PARTIAL and 0 < end.remains <= 100 - delivered


def test_set_refill(panel: Panel) -> None:
    oid = add(panel, 1)
    to_end(panel, oid)
    rid = panel.refill(KEY, oid)
    assert panel.set_refill(rid, "In progress") is RefillStatus.IN_PROGRESS
    with pytest.raises(ValueError, match=f"refill {rid} is In progress; it cannot become Pending"):
        panel.set_refill(rid, "Pending")
    assert panel.set_refill(rid, RefillStatus.REJECTED) is RefillStatus.REJECTED
    assert panel.refill_status(KEY, rid) is RefillStatus.REJECTED
    with pytest.raises(ValueError, match="is Rejected; it cannot become Completed"):
        panel.set_refill(rid, "Completed")
    with pytest.raises(KeyError, match="no refill 999"):
        panel.set_refill(999, "Completed")
    held = panel.refill(KEY, oid)
    panel.set_refill(held, "Pending")
    panel.clock.advance(days=365)
    assert panel.refill_status(KEY, held) is RefillStatus.PENDING


# --- determinism -------------------------------------------------------------------------------------


def script(panel: Panel) -> list[Any]:
    """The same requests, in the same order, on two keys; returns everything observable."""
    seen: list[Any] = []
    ids = [add(panel, s, key=k) for k in (KEY, OTHER) for s in (1, 2, 3, 5, 18, 20)]
    for oid in ids:
        o = panel.find_order(oid)
        seen.append((oid, o.start_count, o.start_at, o.per_second, o.outcome, o.delivered_to))
    panel.cancel(KEY, ids[0])
    for hours in (0.01, 0.1, 1, 24):
        panel.clock.advance(hours=hours)
        for key in (KEY, OTHER):
            seen.append([r.code if isinstance(r, PanelError) else r for r in panel.statuses(key, ids)])
            seen.append(panel.balance(key))
    for key, oid in ((KEY, ids[5]), (OTHER, ids[11])):
        rid = panel.refill(key, oid)
        r = panel.refills[rid]
        seen.append((rid, r.start_at, r.done_at, r.outcome))
    return seen


def test_same_seed_same_requests_same_panel() -> None:
    default_odds = LifecycleSettings()
    first = script(make_panel(seed=7, lifecycle=default_odds))
    second = script(make_panel(seed=7, lifecycle=default_odds))
    assert first == second
    assert script(make_panel(seed=8, lifecycle=default_odds))[:12] != first[:12]


@pytest.mark.parametrize("service_id", ["1_0", "\u0661", "\uff11", "+1", "0x1"])
def test_service_ids_are_ascii_digits_only(panel: Panel, service_id: str) -> None:
    with pytest.raises(PanelError) as info:
        panel.add(KEY, service_id, {"link": "https://x.test/a", "quantity": "100"})
    assert info.value.code is ErrorCode.INCORRECT_SERVICE_ID


def test_the_duplicate_link_index_forgets_finished_orders(panel: Panel) -> None:
    account = panel.account(KEY)
    first = panel.add(KEY, "1", {"link": "https://x.test/dup", "quantity": "100"})
    with pytest.raises(PanelError) as info:
        panel.add(KEY, "1", {"link": "https://X.test/dup ", "quantity": "100"})
    assert info.value.code is ErrorCode.ACTIVE_ORDER_WITH_LINK
    panel.set_order(first, status="Completed")
    for i in range(LINK_SWEEP_MIN - 1):  # the index at the size where it is swept
        panel.add(KEY, "3", {"link": f"https://x.test/other/{i}", "quantity": "10"})
    assert len(account.latest_by_link) == LINK_SWEEP_MIN
    panel.clock.advance(days=2)  # every order has ended
    again = panel.add(KEY, "1", {"link": "https://x.test/dup", "quantity": "100"})
    assert account.latest_by_link == {(1, "https://x.test/dup"): again}  # only the active one is kept
    assert account.link_sweep_at == LINK_SWEEP_MIN


def test_the_duplicate_link_index_is_swept_again_only_once_it_has_doubled(panel: Panel) -> None:
    """A sweep that finds every order still active keeps them all, and the next waits until the index has
    doubled: each sweep reads at most twice the adds since the last (O(1) an add)."""
    account = panel.account(KEY)
    for i in range(LINK_SWEEP_MIN + 1):  # the clock is frozen: every order stays active
        panel.add(KEY, "3", {"link": f"https://x.test/active/{i}", "quantity": "10"})
    assert len(account.latest_by_link) == LINK_SWEEP_MIN + 1
    assert account.link_sweep_at == 2 * LINK_SWEEP_MIN
    with pytest.raises(PanelError) as info:  # still refused: the sweep dropped nothing active
        panel.add(KEY, "3", {"link": "https://x.test/active/0", "quantity": "10"})
    assert info.value.code is ErrorCode.ACTIVE_ORDER_WITH_LINK
