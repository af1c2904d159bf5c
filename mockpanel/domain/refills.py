"""Refills: a request to top a completed order back up, with its own lifecycle."""

from __future__ import annotations

import math

from .lifecycle import RefillStatus


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
