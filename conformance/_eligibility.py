"""When a refill or a cancel of an order should be accepted, as data: the order's state at that moment and its
service's ``refill`` or ``cancel`` flag decide, and a wrong answer breaks the requirement the row names.

The rows follow docs/api-v2.md (refills, cancels) and the service list's promise: a flag that is false refuses
the action whatever the order's state; a refill needs an order that has been delivered; a cancel needs an order
that has not ended. Where panels differ and the documents are silent (a refill of a Partial order, a cancel of
an order still running, a refill inside a panel's own waiting window) either answer is right, and nothing is
judged but the answer's shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from .rules import Status

ACCEPT, REFUSE, EITHER = "accept", "refuse", "either"
RUNNING = frozenset({Status.PENDING, Status.IN_PROGRESS})
ANY = frozenset(Status)


@dataclass(frozen=True)
class Eligibility:
    """One row: ``action`` of an order in one of ``states`` on a service whose flag for it is ``flag``."""

    action: str  # "refill" or "cancel"
    flag: bool  # the service's "refill" or "cancel" as listed
    states: frozenset[Status]
    expect: str  # ACCEPT, REFUSE or EITHER
    rid: str  # the requirement a wrong answer breaks (EITHER: the one its shape is judged by)
    why: str  # how a finding names the case

    def describe(self, word: str) -> str:
        return f"{self.why} ({word} at that moment)"


MATRIX: tuple[Eligibility, ...] = (
    # cancel: the flag first (the service list promises it), then the order's state
    Eligibility("cancel", False, ANY, REFUSE, "V2-CAN-03", 'of a service listed "cancel": false'),
    Eligibility("cancel", True, RUNNING, EITHER, "V2-CAN-01", "that has not ended"),
    Eligibility("cancel", True, frozenset({Status.COMPLETED, Status.PARTIAL, Status.CANCELED}), REFUSE, "V2-CAN-04",
                "that has ended"),
    # refill: only a delivered order, and only where the service has refill
    Eligibility("refill", False, frozenset({Status.COMPLETED, Status.PARTIAL}), REFUSE, "V2-REF-06",
                'of a service listed "refill": false'),
    Eligibility("refill", False, RUNNING | {Status.CANCELED}, REFUSE, "V2-REF-05", "not completed"),
    Eligibility("refill", True, frozenset({Status.COMPLETED}), EITHER, "V2-REF-01", "completed, of a refill service"),
    Eligibility("refill", True, frozenset({Status.PARTIAL}), EITHER, "V2-REF-01",
                "Partial, of a refill service (panels differ)"),
    Eligibility("refill", True, RUNNING | {Status.CANCELED}, REFUSE, "V2-REF-05", "not completed"),
)


def eligibility(action: str, flag: bool, status: Status | None) -> Eligibility | None:
    """The row for an order in ``status`` (None: its state is not known, so nothing is judged)."""
    if status is None:
        return None
    for row in MATRIX:
        if row.action == action and row.flag == flag and status in row.states:
            return row
    raise LookupError(f"no eligibility row for {action} with the flag {flag} of an order {status.value}")
