"""Orders and their state, computed from the plan and the clock when read.

An order's trajectory is: Pending until ``start_at``; In progress, delivering at
``per_second`` from ``delivered_from``, until ``done_at``; then ``outcome`` with
``delivered_to`` units delivered. Reading a state is O(1) and changes nothing;
a cancel or a forced status rewrites the trajectory from "now" on, never before.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, NamedTuple

from .catalog import Service
from .lifecycle import Status
from .money import ZERO, share

INF = math.inf


class OrderState(NamedTuple):
    """What a status request shows (a tuple: the multi-status hot path builds 100 at a time)."""

    status: Status
    charge: Decimal  # what the order costs now: the price at creation less refunds due
    start_count: int
    remains: int
    delivered: int


_state = tuple.__new__  # builds an OrderState without NamedTuple's argument parsing


class Order:
    __slots__ = (
        "id", "key", "service", "link", "quantity", "charge", "created", "start_count",
        "start_at", "per_second", "delivered_from", "delivered_to", "done_at", "outcome",
        "runs", "interval", "details", "refunded", "version", "stuck_reason",
    )

    def __init__(
        self,
        *,
        id: int,
        key: str,
        service: Service,
        link: str,
        quantity: int,
        charge: Decimal,
        created: float,
        start_count: int,
        start_at: float,
        per_second: float,
        outcome: Status,
        delivered_to: int,
        runs: int | None = None,
        interval: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.id = id
        self.key = key  # the account's key id (a digest, never the key itself)
        self.service = service
        self.link = link
        self.quantity = quantity
        self.charge = charge
        self.created = created
        self.start_count = start_count
        self.start_at = start_at
        self.per_second = per_second
        self.delivered_from = 0
        self.delivered_to = delivered_to
        self.outcome = outcome
        self.runs = runs
        self.interval = interval
        self.details = details or None
        self.refunded = ZERO  # refunds already credited to the account
        self.version = 0  # bumped whenever the trajectory is rewritten
        self.stuck_reason: str | None = None
        self.done_at = self._finish_time()

    # --- reading -----------------------------------------------------------------

    @property
    def is_subscription(self) -> bool:
        return self.service.type.quantity_from == "subscription"

    def state(self, now: float) -> OrderState:
        if now >= self.done_at:
            delivered = self.delivered_to
            status = self.outcome
            charge = self.charge if status is Status.COMPLETED else self.charge - self.refund_due()
        elif now < self.start_at:
            return _state(OrderState, (Status.PENDING, self.charge, 0, self.quantity, 0))
        else:
            delivered = self.delivered_at(now)
            status = Status.IN_PROGRESS
            charge = self.charge
        remains = self.quantity - delivered if self.quantity > delivered else 0
        # An order that never delivered anything (canceled while Pending) shows no start count.
        start_count = self.start_count if delivered or status is Status.IN_PROGRESS else 0
        return _state(OrderState, (status, charge, start_count, remains, delivered))

    def status_at(self, now: float) -> Status:
        if now >= self.done_at:
            return self.outcome
        return Status.PENDING if now < self.start_at else Status.IN_PROGRESS

    def delivered_at(self, now: float) -> int:
        """Units delivered by ``now`` while In progress (capped by the outcome)."""
        if now < self.start_at:
            return 0
        elapsed = now - self.start_at
        if self.runs and self.interval and self.runs > 1:
            per_run = self.quantity // self.runs
            period = self.interval * 60.0
            run = min(self.runs - 1, int(elapsed // period))
            within = min(per_run, int((elapsed - run * period) * self.per_second))
            raw = max(self.delivered_from, per_run * run + within)
        else:
            raw = self.delivered_from + int(elapsed * self.per_second)
        if self.quantity == 0:  # an unlimited subscription: posts served so far
            return raw
        return min(self.delivered_to, raw)

    def refund_due(self) -> Decimal:
        """What the outcome refunds: all if Canceled, the undelivered share if Partial."""
        if self.outcome is Status.CANCELED:
            return self.charge
        if self.outcome is Status.PARTIAL:
            return share(self.charge, self.quantity - self.delivered_to, self.quantity)
        return ZERO

    # --- rewriting the trajectory from ``now`` on -----------------------------------

    def _finish_time(self) -> float:
        """When delivery reaches ``delivered_to``: the moment the outcome shows."""
        if self.start_at == INF:
            return INF
        need = self.delivered_to - self.delivered_from
        if self.outcome is Status.CANCELED and self.delivered_from == 0:
            return self.start_at
        if self.quantity == 0:  # unlimited subscription: ends only at its expiry
            return INF if self.delivered_to == 0 else self.start_at + self.delivered_to / self.per_second
        if need <= 0:
            return self.start_at
        if self.runs and self.interval and self.runs > 1:
            per_run = self.quantity // self.runs
            run = (self.delivered_to - 1) // per_run
            within = self.delivered_to - per_run * run
            return self.start_at + run * self.interval * 60.0 + within / self.per_second
        return self.start_at + need / self.per_second

    def _touch(self) -> None:
        self.done_at = self._finish_time()
        self.version += 1

    def stop(self, now: float, outcome: Status | None = None) -> None:
        """End the order at ``now`` with what was delivered so far (a cancel)."""
        delivered = self.delivered_at(now)
        if outcome is None:
            if delivered == 0:
                outcome = Status.CANCELED
            elif delivered >= self.quantity:
                outcome = Status.COMPLETED
            else:
                outcome = Status.PARTIAL
        self.outcome = outcome
        self.delivered_from = self.delivered_to = delivered
        self.start_at = min(self.start_at, now)
        self.done_at = now
        self.version += 1

    def hold(self, reason: str = "forced") -> None:
        """Keep the order Pending until told otherwise (an order stuck in Pending)."""
        self.start_at = INF
        self.stuck_reason = reason
        self._touch()

    def resume(self, now: float, delivered: int | None = None) -> None:
        """Put the order In progress at ``now``, optionally with ``delivered`` units done."""
        current = self.delivered_at(now)
        self.delivered_from = current if delivered is None else delivered
        if self.outcome is not Status.PARTIAL or self.delivered_to <= self.delivered_from:
            self.delivered_to = max(self.delivered_to, self.delivered_from)
        if self.outcome is Status.CANCELED:
            self.outcome, self.delivered_to = Status.COMPLETED, self.quantity
        if self.outcome is Status.PARTIAL and self.delivered_to >= self.quantity:
            self.outcome = Status.COMPLETED  # nothing left undelivered: not Partial with remains 0
        self.start_at = now
        self.stuck_reason = None
        self._touch()

    def finish(self, now: float, outcome: Status, remains: int | None = None) -> None:
        """End the order at ``now`` with ``outcome`` (a forced final status)."""
        if outcome is Status.COMPLETED:
            delivered = self.quantity
        elif outcome is Status.CANCELED:
            delivered = self.quantity - (self.quantity if remains is None else remains)
        else:
            delivered = self.quantity - (remains if remains is not None else self.quantity - self.delivered_at(now))
        self.outcome = outcome
        self.delivered_from = self.delivered_to = delivered
        self.start_at = min(self.start_at, now)
        self.done_at = now
        self.version += 1

    def plan_outcome(self, outcome: Status, remains: int | None = None) -> None:
        """Choose how the order will end, without changing where it is now."""
        if outcome is Status.COMPLETED:
            self.delivered_to = self.quantity
        elif outcome is Status.CANCELED:
            self.delivered_to = self.delivered_from
        else:
            self.delivered_to = self.quantity - (remains if remains is not None else max(1, self.quantity // 2))
        self.outcome = outcome
        self._touch()
