"""An order's state read straight from its row: what ``Order.state`` and the status paths compute.

(A 100-id status computes 100 states: no view objects, one read of each column.)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from .lifecycle import Status
from .money import ZERO, share
from .orderbook import OUTCOMES, OrderBook


class OrderState(NamedTuple):
    """What a status request shows (a tuple: the multi-status hot path builds 100 at a time)."""

    status: Status
    charge: Decimal  # what the order costs now: the price at creation less refunds due
    start_count: int
    remains: int
    delivered: int


_state = tuple.__new__  # builds an OrderState without NamedTuple's argument parsing


def state_of(book: OrderBook[Any], i: int, now: float) -> OrderState:
    charge = book.charges.values[book.charge_ix[i]]
    quantity = book.quantity[i]
    if now >= book.done_at[i]:
        delivered = book.delivered_to[i]
        status = OUTCOMES[book.outcome[i]]
        if status is not Status.COMPLETED:
            charge = charge - refund_of(book, i)
    elif now < book.start_at[i]:
        return _state(OrderState, (Status.PENDING, charge, 0, quantity, 0))
    else:
        delivered = delivered_of(book, i, now)
        status = Status.IN_PROGRESS
    remains = quantity - delivered if quantity > delivered else 0
    # An order that never delivered anything (canceled while Pending) shows no start count.
    start_count = book.start_count[i] if delivered or status is Status.IN_PROGRESS else 0
    return _state(OrderState, (status, charge, start_count, remains, delivered))


def delivered_of(book: OrderBook[Any], i: int, now: float) -> int:
    start_at = book.start_at[i]
    if now < start_at:
        return 0
    elapsed = now - start_at
    delivered_from = book.delivered_from[i]
    extra = book.extras.get(i)
    runs = extra.get("runs") if extra else None
    if runs and runs > 1 and extra.get("interval"):  # type: ignore[union-attr]
        per_run = book.quantity[i] // runs
        period = extra["interval"] * 60.0  # type: ignore[index]
        run = min(runs - 1, int(elapsed // period))
        within = min(per_run, int((elapsed - run * period) * book.per_second[i]))
        raw: int = max(delivered_from, per_run * run + within)
    else:
        raw = delivered_from + int(elapsed * book.per_second[i])
    if book.quantity[i] == 0:  # an unlimited subscription: posts served so far
        return raw
    delivered_to = book.delivered_to[i]
    return raw if raw < delivered_to else delivered_to


def refund_of(book: OrderBook[Any], i: int) -> Decimal:
    outcome = OUTCOMES[book.outcome[i]]
    if outcome is Status.CANCELED:
        return book.charges.values[book.charge_ix[i]]  # type: ignore[no-any-return]
    if outcome is Status.PARTIAL:
        quantity = book.quantity[i]
        return share(book.charges.values[book.charge_ix[i]], quantity - book.delivered_to[i], quantity)
    return ZERO
