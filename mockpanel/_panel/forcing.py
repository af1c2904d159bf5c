"""Forcing states: the test's hand on a panel (the control API's ``POST /_mock/orders/N``).

Control-side, not the domain's: no client of a real panel can do this. ``Forcing`` works on
a panel's core, under its lock; each change is listed like any other (``@mutation``, so the
control panel records it) and obeys the panel's rules: statuses never move backwards, and
charges and refunds follow a forced status as they follow a natural one.
"""

from __future__ import annotations

from .._domain import undo as undo_steps
from .._domain.lifecycle import RefillStatus, Status, parse_refill_status, parse_status
from .._domain.mutations import mutation
from .._domain.numbers import parse_int
from .._domain.orders import Order, OrderState
from .._domain.panel import PanelCore
from .._domain.undo import Undo


def _whole(value: object, name: str) -> int | None:
    """A forced count (remains, start_count): None, an int or ASCII digits; else a ValueError naming it."""
    if value is None:
        return None
    number = parse_int(value, low=-(10**15), high=10**15)  # a negative one gets its own message after
    if number is None:
        raise ValueError(f"{name} must be a whole number (ASCII digits), got {value!r}")
    return number


class Forcing:
    """The test's hand on a panel's orders and refills."""

    def __init__(self, core: PanelCore) -> None:
        self.core = core

    def find_order(self, order_id: int) -> Order:
        """An order by id, whatever its key (for the control side); raises KeyError if there is none."""
        with self.core.lock:
            order = self.core.orders.get(order_id)
        if order is None:
            raise KeyError(f"no order {order_id}: it was never placed, or its key was removed")
        return order

    @mutation
    def set_order(
        self,
        order_id: int,
        *,
        status: str | Status | None = None,
        remains: int | None = None,
        start_count: int | None = None,
    ) -> OrderState:
        """Force an order's status, remains or start_count from now on.

        Charges and refunds follow a forced status exactly as a natural one: Partial
        refunds the undelivered share, Canceled refunds all. Statuses never move
        backwards, so a final order cannot be changed, and In progress cannot go back
        to Pending.
        """
        core = self.core
        with core.lock:
            order = self.find_order(order_id)
            account = core.account_book.with_id(order.key)
            now = core.clock.now()
            core.account_book.settle(account, now)
            with Undo() as undo:  # a refused or failed change leaves the order as it was
                undo_steps.save_order(undo, core.orders, account, order.id)
                current = order.status_at(now)
                target = None if status is None else parse_status(status)
                remains = _whole(remains, "remains")
                start_count = _whole(start_count, "start_count")
                if remains is not None and not 0 <= int(remains) <= order.quantity:
                    raise ValueError(f"remains must be between 0 and the quantity {order.quantity}, got {remains}")
                if start_count is not None:
                    if not 0 <= int(start_count) <= 10**12:
                        raise ValueError(f"start_count must be >= 0 and at most 10^12, got {start_count}")
                    order.start_count = int(start_count)
                if target is None and remains is None:
                    return order.state(now)
                if current.final:
                    raise ValueError(
                        f"order {order_id} is already {current.value}; a final status cannot change "
                        "(statuses never move backwards)"
                    )
                target = target or Status.IN_PROGRESS
                if target.rank < current.rank:
                    raise ValueError(
                        f"order {order_id} is {current.value}; it cannot go back to {target.value}"
                    )
                if target is Status.PENDING:
                    order.hold()
                elif target is Status.IN_PROGRESS:
                    delivered = None if remains is None else order.quantity - int(remains)
                    if delivered is not None and delivered < order.delivered_at(now):
                        raise ValueError(
                            f"order {order_id} has delivered {order.delivered_at(now)} already; "
                            f"remains={remains} would undo delivery"
                        )
                    order.resume(now, delivered)
                else:
                    if target is Status.PARTIAL:
                        if remains is None:
                            remains = order.quantity - order.delivered_at(now)
                        if not 0 < int(remains) < order.quantity:
                            raise ValueError(
                                f"a Partial order needs 0 < remains < quantity ({order.quantity}), got {remains}"
                            )
                    order.finish(now, target, None if remains is None else int(remains))
                core.account_book.schedule(account, order, now)
                return order.state(now)

    @mutation
    def set_outcome(self, order_id: int, status: str | Status, remains: int | None = None) -> None:
        """Choose how a running order will end, without ending it now."""
        core = self.core
        with core.lock:
            order = self.find_order(order_id)
            now = core.clock.now()
            if order.status_at(now).final:
                raise ValueError(f"order {order_id} has already ended")
            target = parse_status(status)
            remains = _whole(remains, "remains")
            if not target.final:
                raise ValueError(f"an outcome is Completed, Partial or Canceled, not {target.value}")
            if target is Status.CANCELED and order.status_at(now) is not Status.PENDING:
                raise ValueError("only a Pending order can be planned to end Canceled; use set_order to cancel it now")
            if target is Status.PARTIAL:
                delivered = order.delivered_at(now)
                if remains is None:  # half of the quantity, or less than is left to deliver
                    remains = min(max(1, order.quantity // 2), order.quantity - delivered - 1)
                if not 0 < remains < order.quantity:
                    raise ValueError(f"a Partial order needs 0 < remains < quantity ({order.quantity})")
                if order.quantity - remains <= delivered:
                    # Fewer would undo delivery; as many would end it now (set_order does that).
                    raise ValueError(
                        f"order {order_id} has delivered {delivered} already; remains={remains} would undo "
                        "delivery or end it now (use set_order to end it now)"
                    )
            account = core.account_book.with_id(order.key)
            core.account_book.settle(account, now)
            with Undo() as undo:
                undo_steps.save_order(undo, core.orders, account, order.id)
                order.plan_outcome(target, remains)
                core.account_book.schedule(account, order, now)

    @mutation
    def set_refill(self, refill_id: int, status: str | RefillStatus) -> RefillStatus:
        """Force a refill's status now."""
        with self.core.lock:
            refill = self.core.refills.by_id.get(refill_id)
            if refill is None:
                raise KeyError(f"no refill {refill_id}")
            now = self.core.clock.now()
            target = parse_refill_status(status)
            current = refill.status_at(now)
            if current.final or target.rank < current.rank:
                raise ValueError(f"refill {refill_id} is {current.value}; it cannot become {target.value}")
            refill.force(now, target)
            return refill.status_at(now)
