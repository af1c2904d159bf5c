"""Refills: a request to top a completed order back up, with its own lifecycle; and a panel's refills."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping

from .lifecycle import RefillStatus
from .plans import RefillPlan


class Refill:
    """Pending until ``start_at``, In progress until ``done_at``, then ``outcome``."""

    __slots__ = ("id", "order_id", "key", "created", "start_at", "done_at", "outcome")

    def __init__(
        self, *, id: int, order_id: int, key: str, created: float, start_at: float,
        done_at: float, outcome: RefillStatus,
    ) -> None:
        self.id = id
        self.order_id = order_id
        self.key = key
        self.created = created
        self.start_at = start_at
        self.done_at = done_at
        self.outcome = outcome

    def status_at(self, now: float) -> RefillStatus:
        """The refill's status at virtual time ``now``."""
        if now >= self.done_at:
            return self.outcome
        return RefillStatus.PENDING if now < self.start_at else RefillStatus.IN_PROGRESS

    def force(self, now: float, status: RefillStatus) -> None:
        """Move to ``status`` at ``now``; callers check that it is not backwards."""
        if status.final:
            self.outcome = status
            self.start_at = min(self.start_at, now)
            self.done_at = now
        elif status is RefillStatus.IN_PROGRESS:
            self.start_at = now
            self.done_at = max(self.done_at, now + 1.0)
        else:  # held in Pending
            self.start_at = self.done_at = math.inf


class Refills(Mapping[int, Refill]):
    """A panel's refills by id, the newest of each order, and the id the next one gets."""

    def __init__(self, first_id: int = 1) -> None:
        self.next_id = first_id
        self.by_id: dict[int, Refill] = {}
        self.of_order: dict[int, int] = {}  # order id -> its newest refill id

    def __getitem__(self, refill_id: int) -> Refill:
        return self.by_id[refill_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self.by_id)

    def __reversed__(self) -> Iterator[int]:
        return reversed(self.by_id)

    def __len__(self) -> int:
        return len(self.by_id)

    def newest_of(self, order_id: int) -> Refill | None:
        """The order's newest refill, if it has one."""
        refill_id = self.of_order.get(order_id)
        return None if refill_id is None else self.by_id.get(refill_id)

    def issue(self, *, order_id: int, key: str, plan: RefillPlan, now: float) -> Refill:
        """A new refill of the order, on ``plan``, under the next id."""
        refill = Refill(
            id=self.next_id,
            order_id=order_id,
            key=key,
            created=now,
            start_at=now + plan.pending,
            done_at=now + plan.pending + plan.duration,
            outcome=plan.outcome,
        )
        self.next_id += 1
        self.by_id[refill.id] = refill
        self.of_order[order_id] = refill.id
        return refill

    def put(self, refill: Refill) -> None:
        """Keep ``refill`` as it is (a restored state's)."""
        self.by_id[refill.id] = refill

    def forget(self, key: str, order_ids: Iterable[int]) -> None:
        """Drop every refill of the account ``key`` (a key id), whose orders are ``order_ids``."""
        for order_id in order_ids:
            self.of_order.pop(order_id, None)
        # Every refill of the account, not only each order's newest one.
        for refill_id in [r.id for r in self.by_id.values() if r.key == key]:
            del self.by_id[refill_id]
