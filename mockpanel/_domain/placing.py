"""Placing an order: the domain's rules for a typed ``OrderRequest``, then the charge and the plan.

The request comes checked and typed (the dialect layer reads the wire fields:
_dialects/order_fields.py); what is decided here is the panel's own: the service is on sale,
the quantity is in its range, no active order has the link, an expiry is not past, the funds
suffice. A failed placement changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from . import undo as undo_steps
from .account_book import AccountBook
from .accounts import LINK_SWEEP_MIN, Account
from .catalog import Service
from .errors import ErrorCode, PanelError
from .lifecycle import Status
from .money import ZERO, price
from .orderbook import OrderBook
from .orders import Order, finish_time_of
from .plans import LifecycleSettings, Plan, draw_plan
from .servicetypes import OrderRequest
from .settings import PanelSettings

# A hook may change the plan of a new order (in-band triggers use this).
PlanHook = Callable[[Service, OrderRequest, Plan], Plan]

_PRICES: dict[tuple[Decimal, int], Decimal] = {}  # one shared Decimal per (rate, quantity): a stored order's biggest field
_PRICES_MAX = 100_000
_COMPLETED = Status.COMPLETED  # read once: an Enum member read from its class costs a lookup of its own (Python 3.11)


def place(
    accounts: AccountBook, account: Account, service: Service, request: OrderRequest, *,
    settings: PanelSettings, plan_hooks: Sequence[PlanHook], now: float,
) -> int:
    """Place the account's order for ``service`` (on sale: the caller found it) in ``accounts``' order book;
    returns its id. The caller holds the panel's lock.

    Charges the price at once, or raises ``PanelError`` having changed nothing. (One function, the
    order's row included: an add is the request path, and each call of Python's costs.)"""
    stype = service.type
    quantity, runs, link = request.quantity, request.runs, request.link
    subscription = stype.quantity_from == "subscription"
    if runs is not None or subscription or not service.min <= quantity <= service.max:
        check_request(service, request)  # the common order (in range, no runs) passes it
    book = accounts.orders
    scope = settings.duplicate_links
    link_key = previous = None
    if scope != "off" and not runs and link:  # the duplicate-link index's key: the link, per service or not
        link_key = (service.id if scope == "service" else 0, link.strip().lower())
        index = account.latest_by_link
        if len(index) >= account.link_sweep_at:
            forget_finished_links(account, book, now)
        previous = index.get(link_key)
        if previous is not None:
            row = book.row(previous)
            if row >= 0 and now < book.done_at[row]:  # not final yet (an outcome shows from done_at on)
                raise PanelError(ErrorCode.ACTIVE_ORDER_WITH_LINK)
    if subscription:
        charge = ZERO  # subscriptions are charged nothing at creation
    elif stype.flat_price:
        charge = service.rate
    else:
        charge = _price(service.rate, quantity)
    expires_at = request.expires_at
    if expires_at is not None and expires_at <= now:
        raise PanelError(ErrorCode.INVALID_FIELD, field="expiry")  # already expired
    refunds = account.due
    if refunds and refunds[0][0] <= now:  # settle's first test, here: most adds find no refund due yet
        accounts.settle(account, now)
    if charge > account.balance:
        raise PanelError(ErrorCode.NOT_ENOUGH_FUNDS)
    saved = undo_steps.NewOrder(book, account, link_key, previous)  # from here on, a failure takes everything back
    try:
        lifecycle = settings.lifecycle
        plan = draw_plan(account.rng, lifecycle, quantity)
        for hook in plan_hooks:
            plan = hook(service, request, plan)
        # The order's row: its derived end worked out first, then appended whole; the rare fields beside it.
        expires_at = None
        if subscription:
            plan = _subscription_plan(account, plan, lifecycle)
            if quantity == 0 and request.expires_at is not None:  # unlimited: it ends at its expiry
                expires_at = request.expires_at
                served = int((expires_at - now - plan.pending) * plan.per_second)
                plan = Plan(plan.start_count, plan.pending, plan.per_second, Status.COMPLETED, -max(0, served))
        start_count, pending, per_second, outcome, remains = plan
        start_at = now + pending
        interval = request.interval
        if runs is not None:
            per_second = dripfeed_speed(request, per_second)
        delivered_to = quantity - remains
        done_at = finish_time_of(start_at, per_second, quantity, 0, delivered_to, outcome, runs, interval, expires_at)
        row = book.append_row(account.id, service, link, quantity, charge, now, start_count, start_at, per_second,
                              outcome, delivered_to, done_at)
        details = request.details
        if runs is not None or interval is not None or details or expires_at is not None:
            order = Order.of(book, row)  # the view, made only where it is needed
            if runs is not None:
                order.runs = runs
            if interval is not None:
                order.interval = interval
            if details:
                order.details = dict(details)
            if expires_at is not None:
                order.expires_at = expires_at
        order_id = book.first_id + row
        account.order_ids.append(order_id)
        account.balance -= charge  # the ledger's charge entry is the order itself
        if outcome is not _COMPLETED:  # a Completed order refunds nothing: no refund to schedule
            accounts.schedule_row(account, row, now)
        if link_key is not None:
            index[link_key] = order_id
    except BaseException:
        saved.restore()
        raise
    finally:
        saved.end()
    return order_id


def check_request(service: Service, request: OrderRequest) -> None:
    """The service's own limits: drip-feed only where it is offered, amounts in its range.

    (The wire reader checks these too, at the point of its field order, so a request read
    from the wire never fails here; a typed caller gets the same errors.)"""
    if request.runs is not None and not service.dripfeed:
        raise PanelError(ErrorCode.DRIPFEED_NOT_SUPPORTED)
    if service.type.quantity_from == "subscription":  # the range bounds each post's quantity (min, max)
        amounts = [v for v in (request.details.get("min"), request.details.get("max")) if v is not None]
    elif service.min <= request.quantity <= service.max:
        return  # the common order: its quantity in range
    else:
        amounts = [request.quantity]
    for amount in amounts:
        if amount < service.min:
            raise PanelError(ErrorCode.QUANTITY_BELOW_MIN, min=service.min)
        if amount > service.max:
            raise PanelError(ErrorCode.QUANTITY_ABOVE_MAX, max=service.max)


def forget_finished_links(account: Account, book: OrderBook[Any], now: float) -> None:
    """Drop the orders that are gone or final by ``now`` from the duplicate-link index: it need only
    hold active ones (an index of every order ever placed was the biggest cost of a stored order).

    The index is swept whole, and next once it has doubled (never below ``LINK_SWEEP_MIN``): each
    sweep reads at most twice the adds since the last, so an add pays O(1) for it. (A heap of the
    orders' ends cost an add a tuple, and a pop of log n tuple comparisons when its order ended.)"""
    row_of, done_at = book.row, book.done_at
    index = account.latest_by_link
    for link_key in [k for k, order_id in index.items() if (row := row_of(order_id)) < 0 or done_at[row] <= now]:
        del index[link_key]
    account.link_sweep_at = max(LINK_SWEEP_MIN, 2 * len(index))


def _price(rate: Decimal, quantity: int) -> Decimal:
    """rate x quantity / 1000, one shared Decimal per (rate, quantity)."""
    charge = _PRICES.get((rate, quantity))
    if charge is None:
        charge = price(rate, quantity)
        if len(_PRICES) < _PRICES_MAX:
            _PRICES[(rate, quantity)] = charge
    return charge


def _subscription_plan(account: Account, plan: Plan, lifecycle: LifecycleSettings) -> Plan:
    """Posts come at a seeded pace; an unlimited subscription runs until its expiry."""
    every = account.rng.uniform(*lifecycle.subscription_post_seconds)
    return Plan(plan.start_count, plan.pending, 1.0 / every, Status.COMPLETED, 0)


def dripfeed_speed(request: OrderRequest, per_second: float) -> float:
    """Fast enough that each run is delivered before the next one starts."""
    if request.runs and request.runs > 1 and request.interval:
        per_run = request.quantity // request.runs
        return max(per_second, per_run / (request.interval * 60.0))
    return per_second
