"""Seeded plans: deterministic, drawn with the configured odds, within the configured ranges."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, strategies as st

from mockpanel._domain.lifecycle import RefillStatus, Status
from mockpanel._domain.plans import LifecycleSettings, draw_plan, draw_refill_plan

DEFAULT = LifecycleSettings()


def plans(seed: int, n: int, quantity: int = 1000, settings: LifecycleSettings = DEFAULT) -> list:
    rng = random.Random(seed)
    return [draw_plan(rng, settings, quantity) for _ in range(n)]


def test_same_seed_same_plans() -> None:
    assert plans(42, 50) == plans(42, 50)
    assert plans(42, 50) != plans(43, 50)


def test_refill_plans_are_seeded_too() -> None:
    a, b = random.Random(5), random.Random(5)
    assert [draw_refill_plan(a, DEFAULT) for _ in range(20)] == [draw_refill_plan(b, DEFAULT) for _ in range(20)]


def test_outcome_weights_are_respected_roughly() -> None:
    counts = Counter(p.outcome for p in plans(7, 4000))
    assert counts[Status.COMPLETED] / 4000 == pytest.approx(0.85, abs=0.03)
    assert counts[Status.PARTIAL] / 4000 == pytest.approx(0.10, abs=0.02)
    assert counts[Status.CANCELED] / 4000 == pytest.approx(0.05, abs=0.015)


def test_custom_weights() -> None:
    settings = LifecycleSettings(completed_weight=1, partial_weight=3, canceled_weight=0)
    counts = Counter(p.outcome for p in plans(3, 2000, settings=settings))
    assert counts[Status.CANCELED] == 0
    assert counts[Status.PARTIAL] / 2000 == pytest.approx(0.75, abs=0.04)
    only_canceled = LifecycleSettings(completed_weight=0, partial_weight=0, canceled_weight=1)
    assert {p.outcome for p in plans(3, 50, settings=only_canceled)} == {Status.CANCELED}


@pytest.mark.parametrize("weights", [(-1, 1, 1), (0, 0, 0)])
def test_bad_weights_are_refused(weights: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError, match="outcome weights must be >= 0 and not all 0"):
        LifecycleSettings(completed_weight=weights[0], partial_weight=weights[1], canceled_weight=weights[2])


ONLY_PARTIAL = LifecycleSettings(completed_weight=0, partial_weight=1, canceled_weight=0)


@given(seed=st.integers(), quantity=st.integers(min_value=2, max_value=10**9))
def test_partial_remains_strictly_between_zero_and_quantity(seed: int, quantity: int) -> None:
    plan = draw_plan(random.Random(seed), ONLY_PARTIAL, quantity)
    assert plan.outcome is Status.PARTIAL
    assert 0 < plan.remains < quantity


@pytest.mark.parametrize("quantity", [0, 1])
def test_a_single_unit_cannot_end_partial_or_canceled(quantity: int) -> None:
    for settings in (ONLY_PARTIAL, LifecycleSettings(completed_weight=0, partial_weight=0, canceled_weight=1)):
        plan = draw_plan(random.Random(1), settings, quantity)
        assert (plan.outcome, plan.remains) == (Status.COMPLETED, 0)


@given(seed=st.integers(), quantity=st.integers(min_value=0, max_value=10**7))
def test_plans_stay_in_their_ranges(seed: int, quantity: int) -> None:
    plan = draw_plan(random.Random(seed), DEFAULT, quantity)
    assert 20.0 <= plan.pending <= 180.0
    assert 0 <= plan.start_count <= 100_000
    # At least the slowest rate, unless that would deliver in under min_delivery_seconds.
    slowest = 600 / 3600 if quantity == 0 else min(600 / 3600, quantity / DEFAULT.min_delivery_seconds)
    assert slowest - 1e-9 <= plan.per_second <= 6000 / 3600 + 1e-9
    if plan.outcome is Status.COMPLETED:
        assert plan.remains == 0
    elif plan.outcome is Status.CANCELED:
        assert plan.remains == quantity
    else:
        assert 0 < plan.remains < quantity


def test_start_counts_are_mostly_small_some_large() -> None:
    counts = sorted(p.start_count for p in plans(11, 1000))
    assert counts[500] < 10_000 < counts[-1]  # log-uniform: median well below the top


def test_refill_rejection_weight() -> None:
    rng = random.Random(2)
    never = LifecycleSettings(refill_rejected_weight=0)
    always = LifecycleSettings(refill_rejected_weight=1)
    assert {draw_refill_plan(rng, never).outcome for _ in range(50)} == {RefillStatus.COMPLETED}
    assert {draw_refill_plan(rng, always).outcome for _ in range(50)} == {RefillStatus.REJECTED}
    outcomes = Counter(draw_refill_plan(rng, DEFAULT).outcome for _ in range(2000))
    assert outcomes[RefillStatus.REJECTED] / 2000 == pytest.approx(0.2, abs=0.03)
    plan = draw_refill_plan(rng, DEFAULT)
    assert 60 <= plan.pending <= 600 and 600 <= plan.duration <= 7200


@pytest.mark.parametrize("quantity", [1, 5, 50, 1000, 10**6])
def test_no_order_is_delivered_faster_than_min_delivery_seconds(quantity: int) -> None:
    settings = LifecycleSettings()
    rng = random.Random(quantity)
    for _ in range(50):
        plan = draw_plan(rng, settings, quantity)
        assert quantity / plan.per_second >= settings.min_delivery_seconds * (1 - 1e-9)
        assert plan.per_second <= settings.units_per_hour[1] / 3600.0
