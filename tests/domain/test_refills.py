"""Refills: Pending, In progress, then Completed or Rejected; forced moves from now on."""

from __future__ import annotations

import math

import pytest

from mockpanel._domain.lifecycle import RefillStatus
from mockpanel._domain.refills import Refill


def make(outcome: RefillStatus = RefillStatus.COMPLETED) -> Refill:
    return Refill(id=501, order_id=10001, key="k", created=0.0, start_at=100.0, done_at=700.0, outcome=outcome)


@pytest.mark.parametrize("outcome", [RefillStatus.COMPLETED, RefillStatus.REJECTED])
def test_timeline(outcome: RefillStatus) -> None:
    refill = make(outcome)
    assert refill.status_at(0) is RefillStatus.PENDING
    assert refill.status_at(99.9) is RefillStatus.PENDING
    assert refill.status_at(100) is RefillStatus.IN_PROGRESS
    assert refill.status_at(699.9) is RefillStatus.IN_PROGRESS
    assert refill.status_at(700) is outcome
    assert refill.status_at(10**9) is outcome


def test_force_final_now() -> None:
    refill = make()
    refill.force(50, RefillStatus.REJECTED)
    assert refill.status_at(50) is RefillStatus.REJECTED
    assert refill.status_at(10**6) is RefillStatus.REJECTED
    assert refill.start_at == 50 and refill.done_at == 50


def test_force_in_progress_now_keeps_the_planned_end() -> None:
    refill = make()
    refill.force(20, RefillStatus.IN_PROGRESS)
    assert refill.status_at(20) is RefillStatus.IN_PROGRESS
    assert refill.status_at(700) is RefillStatus.COMPLETED
    late = make()
    late.force(699.5, RefillStatus.IN_PROGRESS)  # at least a second in progress
    assert late.status_at(700) is RefillStatus.IN_PROGRESS
    assert late.status_at(700.5) is RefillStatus.COMPLETED


def test_force_pending_holds_it() -> None:
    refill = make()
    refill.force(10, RefillStatus.PENDING)
    assert refill.start_at == refill.done_at == math.inf
    assert refill.status_at(10**12) is RefillStatus.PENDING
