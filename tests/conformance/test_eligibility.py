"""The refill and cancel matrix covers every order state and flag exactly once."""

from __future__ import annotations

import pytest

from conformance._eligibility import ACCEPT, EITHER, MATRIX, REFUSE, eligibility
from conformance.catalogue import load_catalogue
from conformance.rules import Status


@pytest.mark.parametrize("action", ["refill", "cancel"])
@pytest.mark.parametrize("flag", [True, False])
@pytest.mark.parametrize("status", list(Status))
def test_each_state_and_flag_has_exactly_one_row(action: str, flag: bool, status: Status) -> None:
    rows = [r for r in MATRIX if r.action == action and r.flag == flag and status in r.states]
    assert len(rows) == 1, rows
    assert eligibility(action, flag, status) is rows[0]
    assert rows[0].expect in (ACCEPT, REFUSE, EITHER)
    assert rows[0].rid in load_catalogue().by_id


def test_a_false_flag_refuses_and_so_does_an_order_that_has_ended_or_not_been_delivered() -> None:
    for status in Status:
        assert eligibility("cancel", False, status).expect == REFUSE  # type: ignore[union-attr]
        assert eligibility("refill", False, status).expect == REFUSE  # type: ignore[union-attr]
    for status in (Status.COMPLETED, Status.PARTIAL, Status.CANCELED):
        assert eligibility("cancel", True, status).rid == "V2-CAN-04"  # type: ignore[union-attr]
    for status in (Status.PENDING, Status.IN_PROGRESS, Status.CANCELED):
        assert eligibility("refill", True, status).rid == "V2-REF-05"  # type: ignore[union-attr]
    assert eligibility("refill", True, None) is None  # a state not known: nothing judged
