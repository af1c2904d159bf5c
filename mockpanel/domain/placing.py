"""Placing an order: the domain's rules for a typed ``OrderRequest``, then the charge and the plan.

The request comes checked and typed (the dialect layer reads the wire fields:
dialects/order_fields.py); what is decided here is the panel's own: the service is on sale,
the quantity is in its range, no active order has the link, an expiry is not past, the funds
suffice. A failed placement changes nothing.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from decimal import Decimal

from . import undo as undo_steps
from .accounts import Account
from .catalog import Service
from .errors import ErrorCode, PanelError
from .lifecycle import Status
from .money import ZERO, price
from .mutations import mutation
from .numbers import parse_int
from .orders import Order
from .panel_accounts import Accounts
from .plans import Plan, draw_plan
from .servicetypes import OrderRequest
from .undo import Undo

# A hook may change the plan of a new order (in-band triggers use this).
PlanHook = Callable[[Service, OrderRequest, Plan], Plan]


class Placing(Accounts):
    """The order-placing part of ``Panel``."""

    plan_hooks: list[PlanHook]
    _prices: dict[tuple[Decimal, int], Decimal]

    @mutation
    def place_order(self, key: str, service_id: int, request: OrderRequest) -> int:
        """Place an order; returns its id. Charges the price at once, or raises ``PanelError``."""
        with self.lock:
            account = self.account(key)
            service = self.find_service(service_id)
            self._check_request(service, request)
            now = self.clock.now()
            link_key = self._link_key(service, request)
            if link_key is not None:
                self._forget_finished_links(account, now)
                previous = self.orders.get(account.latest_by_link.get(link_key, 0))
                if previous is not None and not previous.status_at(now).final:
                    raise PanelError(ErrorCode.ACTIVE_ORDER_WITH_LINK)
            if service.type.quantity_from == "subscription":
                charge = ZERO  # subscriptions are charged nothing at creation
            elif service.type.flat_price:
                charge = service.rate
            else:
                charge = self._price(service.rate, request.quantity)
            if request.expires_at is not None and request.expires_at <= now:
                raise PanelError(ErrorCode.INVALID_FIELD, field="expiry")  # already expired
            self.settle(account)
            if charge > account.balance:
                raise PanelError(ErrorCode.NOT_ENOUGH_FUNDS)
            with Undo() as undo:  # from here on, a failure takes everything back
                undo_steps.save_new_order(undo, self, account, link_key)
                order = self._new_order(account, service, request, charge, now)
                if link_key is not None:
                    account.latest_by_link[link_key] = order.id
                    if order.done_at < math.inf:
                        heapq.heappush(account.link_due, (order.done_at, order.id, link_key))
            return order.id

    def find_service(self, service_id: object) -> Service:
        """The service with this id, on sale; PanelError if the id is not one or the service is disabled."""
        number = parse_int(service_id if service_id.__class__ is int else str(service_id))
        if number is None:
            raise PanelError(ErrorCode.INCORRECT_SERVICE_ID)
        service = self.catalog.get(number)
        if service is None:
            raise PanelError(ErrorCode.INCORRECT_SERVICE_ID)
        if not service.enabled:
            raise PanelError(ErrorCode.SERVICE_DISABLED)
        return service

    @staticmethod
    def _check_request(service: Service, request: OrderRequest) -> None:
        """The service's own limits: drip-feed only where it is offered, amounts in its range.

        (The wire reader checks these too, at the point of its field order, so a request read
        from the wire never fails here; a typed caller gets the same errors.)"""
        if request.runs is not None and not service.dripfeed:
            raise PanelError(ErrorCode.DRIPFEED_NOT_SUPPORTED)
        if service.type.quantity_from == "subscription":  # the range bounds each post's quantity (min, max)
            amounts = [v for v in (request.details.get("min"), request.details.get("max")) if v is not None]
        else:
            amounts = [request.quantity]
        for amount in amounts:
            if amount < service.min:
                raise PanelError(ErrorCode.QUANTITY_BELOW_MIN, min=service.min)
            if amount > service.max:
                raise PanelError(ErrorCode.QUANTITY_ABOVE_MAX, max=service.max)

    def _forget_finished_links(self, account: Account, now: float) -> None:
        """Drop finished orders from the duplicate-link index: it need only hold active ones.

        (An index of every order ever placed was the biggest cost of a stored order.)
        """
        due, index = account.link_due, account.latest_by_link
        while due and due[0][0] <= now:
            _, order_id, link_key = heapq.heappop(due)
            if index.get(link_key) != order_id:
                continue  # a newer order took the link
            order = self.orders.get(order_id)
            if order is None or order.status_at(now).final:
                del index[link_key]
            elif order.done_at < math.inf:  # its end moved later (resumed): look again then
                heapq.heappush(due, (order.done_at, order_id, link_key))

    def _price(self, rate: Decimal, quantity: int) -> Decimal:
        """rate x quantity / 1000, one shared Decimal per (rate, quantity): a stored order's biggest field."""
        cache = self._prices
        charge = cache.get((rate, quantity))
        if charge is None:
            charge = price(rate, quantity)
            if len(cache) < 100_000:
                cache[(rate, quantity)] = charge
        return charge

    def _link_key(self, service: Service, request: OrderRequest) -> tuple[int, str] | None:
        scope = self.settings.duplicate_links
        if scope == "off" or request.runs or not request.link:
            return None
        link = request.link.strip().lower()
        return (service.id if scope == "service" else 0, link)

    def _new_order(
        self, account: Account, service: Service, request: OrderRequest, charge: Decimal, now: float
    ) -> Order:
        plan = draw_plan(account.rng, self.settings.lifecycle, request.quantity)
        for hook in self.plan_hooks:
            plan = hook(service, request, plan)
        quantity = request.quantity
        expires_at = None
        if service.type.quantity_from == "subscription":
            plan = self._subscription_plan(account, plan)
            if quantity == 0 and request.expires_at is not None:  # unlimited: it ends at its expiry
                expires_at = request.expires_at
                served = int((expires_at - now - plan.pending) * plan.per_second)
                plan = Plan(plan.start_count, plan.pending, plan.per_second, Status.COMPLETED, -max(0, served))
        order = Order(
            book=self.orders,
            id=self.orders.next_id,
            key=account.id,
            service=service,
            link=request.link,
            quantity=quantity,
            charge=charge,
            created=now,
            start_count=plan.start_count,
            start_at=now + plan.pending,
            per_second=self._dripfeed_speed(request, plan.per_second),
            outcome=plan.outcome,
            delivered_to=quantity - plan.remains,
            runs=request.runs,
            interval=request.interval,
            details=dict(request.details),
        )
        if expires_at is not None:
            order.expires_at = expires_at
            order.done_at = order.finish_time()
        account.order_ids.append(order.id)
        account.balance -= charge  # the ledger's charge entry is the order itself
        self.schedule(account, order)
        return order

    def _subscription_plan(self, account: Account, plan: Plan) -> Plan:
        """Posts come at a seeded pace; an unlimited subscription runs until its expiry."""
        every = account.rng.uniform(*self.settings.lifecycle.subscription_post_seconds)
        return Plan(plan.start_count, plan.pending, 1.0 / every, Status.COMPLETED, 0)

    def _dripfeed_speed(self, request: OrderRequest, per_second: float) -> float:
        """Fast enough that each run is delivered before the next one starts."""
        if request.runs and request.runs > 1 and request.interval:
            per_run = request.quantity // request.runs
            return max(per_second, per_run / (request.interval * 60.0))
        return per_second
