"""Seeded plans: how long an order waits, how fast it goes, how it ends."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from .draws import Source, four
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

    @cached_property
    def log_start_count(self) -> tuple[float, float]:
        """``start_count``'s bounds as a plan draws between them (log(n + 1)), worked out once."""
        lo, hi = self.start_count
        return math.log(lo + 1), math.log(hi + 1)

    @cached_property
    def plan_terms(self) -> tuple[float, float, float, float, float, float, float, float, float, float]:
        """What ``draw_plan`` reads of these settings, worked out once (one attribute read per order, not
        ten): each range as its start and width (``uniform``'s ``a`` and ``b - a``), the least delivery
        time, and the outcome weights as the roll compares them (their sum, completed, completed + partial)."""
        (a, b), (p, q), (u, v) = self.log_start_count, self.pending_seconds, self.units_per_hour
        completed, partial = self.completed_weight, self.partial_weight
        return (a, b - a, p, q - p, u, v - u, self.min_delivery_seconds,
                completed + partial + self.canceled_weight - 0, completed, completed + partial)


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
# Read once: an Enum member read from its class costs a lookup of its own (Python 3.11), and a plan is drawn per order.
_COMPLETED, _PARTIAL, _CANCELED = Status.COMPLETED, Status.PARTIAL, Status.CANCELED


def draw_plan(rng: Source, settings: LifecycleSettings, quantity: int) -> Plan:
    start, start_width, pending, pending_width, speed, speed_width, least_seconds, weights, completed, not_canceled = (
        settings.plan_terms)
    # Four values, drawn at once, each used as ``uniform(a, b)`` uses it (a + (b - a) * value): the
    # plans a seed gives are the ones it gave when each was drawn with ``uniform``.
    r_start, r_pending, r_speed, r_roll = four(rng)
    # Log-uniform: most links are small, a few are large.
    start_count = int(math.exp(start + start_width * r_start)) - 1
    pending = pending + pending_width * r_pending
    per_second = (speed + speed_width * r_speed) / 3600.0
    if quantity > 0:  # no order is delivered faster than min_delivery_seconds
        per_second = min(per_second, quantity / least_seconds)
    roll = 0 + weights * r_roll
    if roll < completed or quantity < 2:
        return _plan(Plan, (start_count, pending, per_second, _COMPLETED, 0))
    if roll < not_canceled:
        share = rng.uniform(*settings.partial_remains)
        remains = min(quantity - 1, max(1, int(quantity * share)))
        return _plan(Plan, (start_count, pending, per_second, _PARTIAL, remains))
    return _plan(Plan, (start_count, pending, per_second, _CANCELED, quantity))


def draw_refill_plan(rng: Source, settings: LifecycleSettings) -> RefillPlan:
    s = settings
    rejected = rng.random() < s.refill_rejected_weight
    return RefillPlan(
        rng.uniform(*s.refill_pending_seconds),
        rng.uniform(*s.refill_seconds),
        RefillStatus.REJECTED if rejected else RefillStatus.COMPLETED,
    )
