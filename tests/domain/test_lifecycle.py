"""Statuses: their ranks (never backwards) and the spellings they are read from."""

from __future__ import annotations

import pytest

from mockpanel._domain.lifecycle import RefillStatus, Status, parse_refill_status, parse_status


def test_ranks_order_the_progression() -> None:
    assert Status.PENDING.rank < Status.IN_PROGRESS.rank < Status.COMPLETED.rank
    assert Status.COMPLETED.rank == Status.PARTIAL.rank == Status.CANCELED.rank
    assert {s for s in Status if s.final} == {Status.COMPLETED, Status.PARTIAL, Status.CANCELED}
    assert RefillStatus.PENDING.rank < RefillStatus.IN_PROGRESS.rank < RefillStatus.COMPLETED.rank
    assert RefillStatus.COMPLETED.rank == RefillStatus.REJECTED.rank
    assert {s for s in RefillStatus if s.final} == {RefillStatus.COMPLETED, RefillStatus.REJECTED}


@pytest.mark.parametrize(
    "text, status",
    [
        ("Pending", Status.PENDING), ("pending", Status.PENDING),
        ("In progress", Status.IN_PROGRESS), ("in_progress", Status.IN_PROGRESS),
        ("Inprogress", Status.IN_PROGRESS), ("processing", Status.IN_PROGRESS),
        ("Completed", Status.COMPLETED), (" partial ", Status.PARTIAL),
        ("Canceled", Status.CANCELED), ("Cancelled", Status.CANCELED), ("CANCELED", Status.CANCELED),
    ],
)
def test_parse_status_takes_common_spellings(text: str, status: Status) -> None:
    assert parse_status(text) is status


def test_parse_status_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown order status 'Refunded'; use one of: Pending, In progress, Completed"):
        parse_status("Refunded")


@pytest.mark.parametrize(
    "text, status",
    [("pending", RefillStatus.PENDING), ("In progress", RefillStatus.IN_PROGRESS),
     ("in_progress", RefillStatus.IN_PROGRESS), ("Completed", RefillStatus.COMPLETED), ("REJECTED", RefillStatus.REJECTED)],
)
def test_parse_refill_status(text: str, status: RefillStatus) -> None:
    assert parse_refill_status(text) is status


def test_parse_refill_status_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown refill status 'Partial'; use one of: Pending, In progress, Completed, Rejected"):
        parse_refill_status("Partial")
