"""An order's state read straight from its row: what ``Order.state`` and the status paths compute.

(A 100-id status computes 100 states: no view objects, one read of each column.)
"""

from __future__ import annotations

import math
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


INF = math.inf
nextafter = math.nextafter
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


def state_until(book: OrderBook[Any], i: int, now: float) -> tuple[OrderState, float]:
    """``state_of``, and a virtual time before which the state stays the same while the row is not
    rewritten (its version says so): infinity once final, the end of Pending, or, In progress, the
    instant another unit shows as delivered. ``now`` itself when that is not worked out (a
    drip-feed's runs): then it is not known to hold any longer.

    A client polls its running orders many times a second, and their states change every few
    seconds: what a status shows can be kept for as long as it holds. The usual running order (In
    progress, no rare field) is read here in one pass, as ``state_of`` and ``delivered_of`` read it:
    a status of 100 of them computes no more than ``state_of`` would."""
    done_at = book.done_at[i]
    start_at = book.start_at[i]
    if now >= done_at or now < start_at or i in book.extras:
        state = state_of(book, i, now)
        status = state[0]
        if status is not Status.IN_PROGRESS:
            return state, INF if status is not Status.PENDING else start_at if start_at < done_at else done_at
        extra = book.extras[i]
        if (extra.get("runs") or 0) > 1 and extra.get("interval"):
            return state, now
        delivered = state[4]
        if book.quantity[i] and delivered >= book.delivered_to[i]:
            return state, done_at  # nothing more to deliver before the outcome shows
        return state, _next_unit(start_at, book.per_second[i], delivered - book.delivered_from[i] + 1, done_at)
    per_second = book.per_second[i]
    quantity = book.quantity[i]
    units = int((now - start_at) * per_second)  # as delivered_of reads it
    delivered = book.delivered_from[i] + units
    delivered_to = book.delivered_to[i]
    if quantity and delivered >= delivered_to:
        delivered, until = delivered_to, done_at  # nothing more to deliver before the outcome shows
    else:
        until = _next_unit(start_at, per_second, units + 1, done_at)
    return _state(OrderState, (Status.IN_PROGRESS, book.charges.values[book.charge_ix[i]], book.start_count[i],
                               quantity - delivered if quantity > delivered else 0, delivered)), until


def _next_unit(start_at: float, per_second: float, units: int, done_at: float) -> float:
    """The first time ``int((t - start_at) * per_second)`` (delivered_of's) reaches ``units``, or
    ``done_at`` when that is sooner: a time before which it stays below ``units``."""
    if not per_second > 0:
        return done_at
    # That expression never decreases as t grows (each float operation in it is monotonic), so
    # once it is below ``units`` at some t, it is at every earlier time: the exact quotient, or
    # the float next to it, is the bound, checked.
    t = start_at + units / per_second
    if int((t - start_at) * per_second) < units:
        t = nextafter(t, INF)
    elif int((nextafter(t, -INF) - start_at) * per_second) >= units:
        t = _first_reaching(start_at, per_second, units, t)
    return t if t < done_at else done_at


def _first_reaching(start_at: float, per_second: float, units: int, t: float) -> float:
    """The first float time at or before ``t`` at which ``int((t - start_at) * per_second)`` reaches
    ``units``, where it does at ``t``; ``start_at`` (nothing kept) when a few steps do not find it."""
    for _ in range(64):
        before = nextafter(t, -INF)
        if int((before - start_at) * per_second) < units:
            return t
        t = before
    return start_at


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
