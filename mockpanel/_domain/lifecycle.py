"""Statuses and the order of their progression; the shared vocabulary of orders and refills."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """An order's status, by its canonical name; the dialect chooses the spelling."""

    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    COMPLETED = "Completed"
    PARTIAL = "Partial"
    CANCELED = "Canceled"

    @property
    def final(self) -> bool:
        """True for the statuses an order ends in (Completed, Partial, Canceled)."""
        return self in FINAL

    @property
    def rank(self) -> int:
        """Statuses never move to a lower rank."""
        return 2 if self in FINAL else (0 if self is Status.PENDING else 1)


FINAL = frozenset({Status.COMPLETED, Status.PARTIAL, Status.CANCELED})


class RefillStatus(str, Enum):
    """The canonical refill statuses; a dialect profile gives each its word (``refill_statuses``)."""

    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    COMPLETED = "Completed"
    REJECTED = "Rejected"

    @property
    def final(self) -> bool:
        """True for the statuses a refill ends in."""
        return self in (RefillStatus.COMPLETED, RefillStatus.REJECTED)

    @property
    def rank(self) -> int:
        """Its place in the lifecycle: a refill's rank never decreases."""
        return 2 if self.final else (0 if self is RefillStatus.PENDING else 1)


def parse_status(value: object) -> Status:
    """Accept a Status or any common spelling: 'In progress', 'in_progress', 'inprogress', 'Cancelled'."""
    if isinstance(value, Status):
        return value
    if not isinstance(value, str):
        raise ValueError(f"an order status is a word, one of: {', '.join(s.value for s in Status)}; got {value!r}")
    folded = value.strip().lower().replace("_", "").replace(" ", "")
    aliases = {"cancelled": "canceled", "processing": "inprogress"}
    folded = aliases.get(folded, folded)
    for status in Status:
        if status.value.lower().replace(" ", "") == folded:
            return status
    raise ValueError(
        f"unknown order status {value!r}; use one of: {', '.join(s.value for s in Status)}"
    )


def parse_refill_status(value: object) -> RefillStatus:
    if isinstance(value, RefillStatus):
        return value
    if not isinstance(value, str):
        raise ValueError(f"a refill status is a word, one of: {', '.join(s.value for s in RefillStatus)}; got {value!r}")
    folded = value.strip().lower().replace("_", "").replace(" ", "")
    for status in RefillStatus:
        if status.value.lower().replace(" ", "") == folded:
            return status
    raise ValueError(
        f"unknown refill status {value!r}; use one of: {', '.join(s.value for s in RefillStatus)}"
    )
