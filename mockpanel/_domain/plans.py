"""Seeded plans: how long an order waits, how fast it goes, how it ends."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from .draws import Source
from .lifecycle import RefillStatus, Status


@dataclass(frozen=True)
class LifecycleSettings:
    """The odds and timings that plans are drawn from. Times in virtual seconds."""

    pending_seconds: tuple[float, float] = (20.0, 180.0)
    units_per_hour: tuple[float, float] = (600.0, 6000.0)
    min_delivery_seconds: float = 60.0
    completed_weight: float = 0.85
    partial_weight: float = 0.10
    canceled_weight: float = 0.05  # canceled by the panel, while Pending
    partial_remains: tuple[float, float] = (0.05, 0.6)  # share of the quantity left undelivered
    start_count: tuple[int, int] = (0, 100_000)
    refill_pending_seconds: tuple[float, float] = (60.0, 600.0)
    refill_seconds: tuple[float, float] = (600.0, 7200.0)
    refill_rejected_weight: float = 0.2
    subscription_post_seconds: tuple[float, float] = (3600.0, 6 * 3600.0)

    def __post_init__(self) -> None:
        weights = (self.completed_weight, self.partial_weight, self.canceled_weight)
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"outcome weights must be >= 0 and not all 0, got {weights}")


class Plan(NamedTuple):
    """A new order's seeded trajectory (a tuple: one is made for every order placed)."""

    start_count: int
    pending: float  # seconds in Pending
    per_second: float  # units delivered per second while In progress
    outcome: Status  # COMPLETED, PARTIAL or CANCELED
    remains: int  # left undelivered at the end (PARTIAL: 0 < remains < quantity)


@dataclass(frozen=True, slots=True)
class RefillPlan:
    pending: float
    duration: float
    outcome: RefillStatus


_plan = tuple.__new__  # builds a Plan without NamedTuple's argument parsing (one per order placed)


def draw_plan(rng: Source, settings: LifecycleSettings, quantity: int) -> Plan:
    s = settings
    lo, hi = s.start_count
    # Log-uniform: most links are small, a few are large.
    start_count = int(math.exp(rng.uniform(math.log(lo + 1), math.log(hi + 1)))) - 1
    pending = rng.uniform(*s.pending_seconds)
    per_hour = rng.uniform(*s.units_per_hour)
    per_second = per_hour / 3600.0
    if quantity > 0:  # no order is delivered faster than min_delivery_seconds
        per_second = min(per_second, quantity / s.min_delivery_seconds)
    roll = rng.uniform(0, s.completed_weight + s.partial_weight + s.canceled_weight)
    if roll < s.completed_weight or quantity < 2:
        return _plan(Plan, (start_count, pending, per_second, Status.COMPLETED, 0))
    if roll < s.completed_weight + s.partial_weight:
        share = rng.uniform(*s.partial_remains)
        remains = min(quantity - 1, max(1, int(quantity * share)))
        return _plan(Plan, (start_count, pending, per_second, Status.PARTIAL, remains))
    return _plan(Plan, (start_count, pending, per_second, Status.CANCELED, quantity))


def draw_refill_plan(rng: Source, settings: LifecycleSettings) -> RefillPlan:
    s = settings
    rejected = rng.random() < s.refill_rejected_weight
    return RefillPlan(
        rng.uniform(*s.refill_pending_seconds),
        rng.uniform(*s.refill_seconds),
        RefillStatus.REJECTED if rejected else RefillStatus.COMPLETED,
    )
