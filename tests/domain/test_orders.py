"""Orders: state computed from the plan and the time, and rewrites of the trajectory."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mockpanel._catalogs import load_catalog
from mockpanel._domain.lifecycle import Status
from mockpanel._domain.money import share
from mockpanel._domain.order_rows import state_of, state_until
from mockpanel._domain.orderbook import OrderBook
from mockpanel._domain.orders import Order

CATALOG = load_catalog()
CHARGE = Decimal("0.0900000")
T0 = 1000.0  # creation time; the order starts after 60 s of Pending


def make(**kw: Any) -> Order:
    """100 units at 1 unit/s, Pending from T0 to T0+60, Completed at T0+160 by default."""
    quantity = kw.pop("quantity", 100)
    args: dict[str, Any] = dict(
        id=10001, key="k", service=CATALOG.get(1), link="https://x.test/a", quantity=quantity,
        charge=CHARGE, created=T0, start_count=1234, start_at=T0 + 60, per_second=1.0,
        outcome=Status.COMPLETED, delivered_to=quantity,
    )
    args.update(kw)
    return Order(**args)


def test_pending_then_in_progress_then_completed() -> None:
    order = make()
    pending = order.state(T0 + 59.9)
    assert (pending.status, pending.remains, pending.delivered, pending.start_count, pending.charge) == (
        Status.PENDING, 100, 0, 0, CHARGE,
    )
    running = order.state(T0 + 60 + 30.5)
    assert (running.status, running.remains, running.delivered, running.start_count, running.charge) == (
        Status.IN_PROGRESS, 70, 30, 1234, CHARGE,
    )
    assert order.done_at == T0 + 160
    assert order.state(T0 + 159.99).status is Status.IN_PROGRESS
    done = order.state(T0 + 160)
    assert (done.status, done.remains, done.delivered, done.start_count, done.charge) == (
        Status.COMPLETED, 0, 100, 1234, CHARGE,
    )
    assert order.state(T0 + 10**6) == done


def test_reading_a_state_changes_nothing() -> None:
    order = make(outcome=Status.PARTIAL, delivered_to=70)
    before = {name: getattr(order, name) for name in Order.FIELDS}
    for t in (T0, T0 + 100, T0 + 10**5, T0 + 50):
        order.state(t)
    assert {name: getattr(order, name) for name in Order.FIELDS} == before


def test_remains_and_status_over_time_never_go_back() -> None:
    order = make(quantity=250, per_second=0.7, outcome=Status.PARTIAL, delivered_to=180)
    last_rank, last_remains = -1, 251
    for step in range(0, 600):
        state = order.state(T0 + step)
        assert 0 <= state.remains <= 250
        assert state.status.rank >= last_rank and state.remains <= last_remains
        last_rank, last_remains = state.status.rank, state.remains
    assert (state.status, state.remains) == (Status.PARTIAL, 70)


def test_partial_charge_is_the_price_less_the_undelivered_share() -> None:
    order = make(outcome=Status.PARTIAL, delivered_to=70)
    assert order.done_at == T0 + 60 + 70
    state = order.state(order.done_at)
    assert (state.status, state.remains) == (Status.PARTIAL, 30)
    assert order.refund_due() == share(CHARGE, 30, 100) == Decimal("0.0270000")
    assert state.charge == Decimal("0.0630000")


def test_canceled_by_the_panel_ends_when_pending_ends_with_everything_refunded() -> None:
    order = make(outcome=Status.CANCELED, delivered_to=0)
    assert order.done_at == T0 + 60
    assert order.state(T0 + 59).status is Status.PENDING
    state = order.state(T0 + 60)
    assert (state.status, state.remains, state.start_count, state.charge) == (Status.CANCELED, 100, 0, Decimal(0))


def test_dripfeed_delivers_each_run_then_waits_for_the_interval() -> None:
    # 5 runs of 100 every 60 minutes, each run taking 100 s at 1 unit/s.
    order = make(quantity=500, runs=5, interval=60)
    start = T0 + 60
    assert order.state(start + 50).delivered == 50
    assert order.state(start + 200).delivered == 100  # run 1 done, waiting
    assert order.state(start + 3599).delivered == 100
    assert order.state(start + 3600 + 30).delivered == 130
    assert order.state(start + 2 * 3600 + 100).delivered == 300
    assert order.done_at == start + 4 * 3600 + 100
    assert order.state(order.done_at - 1).status is Status.IN_PROGRESS
    assert order.state(order.done_at - 1).remains == 1
    final = order.state(order.done_at)
    assert (final.status, final.remains) == (Status.COMPLETED, 0)


def test_dripfeed_partial_ends_in_the_run_of_its_last_unit() -> None:
    order = make(quantity=500, runs=5, interval=60, outcome=Status.PARTIAL, delivered_to=250)
    start = T0 + 60
    assert order.done_at == start + 2 * 3600 + 50
    assert order.state(start + 2 * 3600 + 49).delivered == 249
    assert order.state(order.done_at).remains == 250


def test_unlimited_subscription_never_ends_and_shows_no_remains() -> None:
    order = make(service=CATALOG.get(18), quantity=0, per_second=1 / 3600)
    assert order.is_subscription and order.done_at == math.inf
    state = order.state(T0 + 60 + 5 * 3600)
    assert (state.status, state.remains, state.delivered) == (Status.IN_PROGRESS, 0, 5)


def test_subscription_with_posts_ends_after_its_posts() -> None:
    order = make(service=CATALOG.get(18), quantity=3, per_second=1 / 3600)
    assert order.state(T0 + 60 + 2.5 * 3600).remains == 1
    assert order.state(T0 + 60 + 3 * 3600).status is Status.COMPLETED


# --- rewrites -----------------------------------------------------------------------------


def test_stop_while_pending_cancels_with_a_full_refund() -> None:
    order = make()
    order.stop(T0 + 10)
    state = order.state(T0 + 10)
    assert (state.status, state.remains, state.start_count, state.charge) == (Status.CANCELED, 100, 0, Decimal(0))
    assert order.refund_due() == CHARGE


def test_stop_in_progress_ends_partial_with_what_was_delivered() -> None:
    order = make()
    version = order.version
    order.stop(T0 + 100)  # 40 delivered
    assert order.version == version + 1 and order.done_at == T0 + 100
    state = order.state(T0 + 100)
    assert (state.status, state.remains, state.delivered) == (Status.PARTIAL, 60, 40)
    assert state.charge == CHARGE - share(CHARGE, 60, 100)
    assert order.state(T0 + 10**6) == state  # nothing more is delivered


def test_stop_with_an_explicit_outcome() -> None:
    order = make()
    order.stop(T0 + 100, Status.CANCELED)
    assert order.state(T0 + 100).status is Status.CANCELED
    assert order.refund_due() == CHARGE


def test_finish_forces_each_final_status() -> None:
    completed = make()
    completed.finish(T0 + 70, Status.COMPLETED)
    state = completed.state(T0 + 70)
    assert (state.status, state.charge, state.start_count, state.remains) == (Status.COMPLETED, CHARGE, 1234, 0)
    partial = make()
    partial.finish(T0 + 70, Status.PARTIAL, remains=25)
    state = partial.state(T0 + 70)
    assert (state.status, state.remains, state.charge) == (Status.PARTIAL, 25, CHARGE - share(CHARGE, 25, 100))
    canceled = make()
    canceled.finish(T0 + 10, Status.CANCELED)
    state = canceled.state(T0 + 10)
    assert (state.status, state.remains, state.charge, state.start_count) == (Status.CANCELED, 100, Decimal(0), 0)


def test_finish_partial_without_remains_keeps_what_was_delivered() -> None:
    order = make()
    order.finish(T0 + 90, Status.PARTIAL)
    assert order.state(T0 + 90).remains == 70


def test_hold_keeps_an_order_pending_until_resumed() -> None:
    order = make()
    order.hold("stuck for a test")
    assert order.stuck_reason == "stuck for a test" and order.done_at == math.inf
    assert order.state(T0 + 10**7).status is Status.PENDING
    order.resume(T0 + 10**7)
    assert order.stuck_reason is None
    assert order.state(T0 + 10**7 + 10).delivered == 10
    assert order.state(T0 + 10**7 + 100).status is Status.COMPLETED


def test_resume_with_units_already_delivered() -> None:
    order = make()
    order.resume(T0 + 5, delivered=50)
    state = order.state(T0 + 5)
    assert (state.status, state.remains) == (Status.IN_PROGRESS, 50)
    assert order.state(T0 + 25).remains == 30
    assert order.done_at == T0 + 55


def test_resume_of_an_order_planned_to_be_canceled_completes_it() -> None:
    order = make(outcome=Status.CANCELED, delivered_to=0)
    order.resume(T0 + 5)
    assert order.outcome is Status.COMPLETED
    assert order.state(T0 + 5 + 100).status is Status.COMPLETED


def test_resume_with_everything_delivered_is_completed_not_partial() -> None:
    order = make(outcome=Status.PARTIAL, delivered_to=70)
    order.resume(T0 + 5, delivered=100)
    state = order.state(T0 + 5)
    assert (state.status, state.remains) == (Status.COMPLETED, 0)
    assert order.refund_due() == 0


def test_plan_outcome_changes_the_end_not_the_present() -> None:
    order = make()
    now = T0 + 80  # 20 delivered
    before = order.state(now)
    version = order.version
    order.plan_outcome(Status.PARTIAL, remains=40)
    assert order.state(now) == before and order.version == version + 1
    end = order.state(order.done_at)
    assert order.done_at == T0 + 60 + 60
    assert (end.status, end.remains) == (Status.PARTIAL, 40)
    order.plan_outcome(Status.COMPLETED)
    assert order.state(order.done_at).status is Status.COMPLETED and order.done_at == T0 + 160


def test_plan_outcome_canceled_while_pending_ends_when_pending_ends() -> None:
    order = make()
    order.plan_outcome(Status.CANCELED)
    assert order.done_at == order.start_at == T0 + 60
    assert order.state(T0 + 60).status is Status.CANCELED


def test_plan_outcome_partial_default_remains_is_half() -> None:
    order = make()
    order.plan_outcome(Status.PARTIAL)
    assert order.state(order.done_at).remains == 50


# --- how long a state holds (state_until: a status's entry is kept for that long) -------------

KINDS = ("completed", "partial", "canceled", "dripfeed", "unlimited", "held", "details")


def _order_of(kind: str, start: float, pending: float, per_second: float, quantity: int) -> OrderBook[Order]:
    book: OrderBook[Order] = OrderBook(first_id=10001, view=Order.of)
    args: dict[str, Any] = dict(book=book, created=start, start_at=start + pending, per_second=per_second,
                                quantity=quantity, delivered_to=quantity)
    if kind == "partial":
        args.update(outcome=Status.PARTIAL, delivered_to=quantity // 2)
    elif kind == "canceled":
        args.update(outcome=Status.CANCELED, delivered_to=0)
    elif kind == "dripfeed":  # 4 runs of at least 100
        args.update(runs=4, interval=30, quantity=quantity + 400, delivered_to=quantity + 400)
    elif kind == "unlimited":
        args.update(quantity=0, delivered_to=0)
    elif kind == "held":
        args.update(start_at=math.inf)
    elif kind == "details":
        args.update(details={"username": "someone"})
    make(**args)
    return book


@settings(max_examples=400, deadline=None)
@given(kind=st.sampled_from(KINDS), start=st.floats(1.5e9, 1.9e9), pending=st.floats(0, 300),
       per_second=st.floats(0.01, 80), quantity=st.integers(1, 100_000), at=st.floats(0, 1.05))
def test_a_state_holds_exactly_until_state_until_says(
        kind: str, start: float, pending: float, per_second: float, quantity: int, at: float) -> None:
    book = _order_of(kind, start, pending, per_second, quantity)
    end = book.done_at[0] if book.done_at[0] < math.inf else start + pending + 7200
    now = start + at * (end - start)  # from its creation to past its end
    state, until = state_until(book, 0, now)
    assert state == state_of(book, 0, now)
    assert until >= now
    if kind == "dripfeed" and state.status is Status.IN_PROGRESS:
        assert until == now  # not worked out: not kept
    if until == now:
        return
    # Every instant before ``until`` shows the same, the last float before it included; ``until``
    # itself shows another (as soon as it changes: a kept entry serves as long as it can).
    last = math.nextafter(until, -math.inf) if until < math.inf else now + 1e7
    for t in (now, now + (min(until, now + 1e7) - now) / 3, last):
        assert state_of(book, 0, t) == state, (t, until)
    if until < math.inf:
        assert state_of(book, 0, until) != state
    else:
        assert state.status.final or kind == "held"


def test_a_running_order_s_state_holds_until_its_next_unit() -> None:
    book = _order_of("completed", 1_700_000_000.0, 60.0, 0.5, 100)  # a unit every 2 s from start + 60
    state, until = state_until(book, 0, 1_700_000_000.0 + 60 + 7.0)
    assert (state.status, state.delivered) == (Status.IN_PROGRESS, 3)
    assert until == 1_700_000_000.0 + 60 + 8.0
    assert state_until(book, 0, 1_700_000_000.0 + 10)[1] == 1_700_000_000.0 + 60  # Pending until it starts
    assert state_until(book, 0, book.done_at[0])[1] == math.inf  # final
