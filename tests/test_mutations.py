"""The state-changing operations are listed once (``@mutation``), and state files record exactly those."""

from __future__ import annotations

from mockpanel.domain.mutations import MUTATIONS
from mockpanel.domain.panel import Panel
from mockpanel.persistence.records import KEYED, OPERATIONS


def test_state_files_record_every_marked_method_and_only_those() -> None:
    marked = {name for cls in Panel.__mro__ for name, value in vars(cls).items() if hasattr(value, "__wrapped__")}
    assert {"add", "deposit", "cancel", "refill", "set_order", "restore_snapshot"} <= marked
    assert set(OPERATIONS) == marked == set(MUTATIONS)


def test_keyed_operations_are_those_whose_first_argument_is_the_key() -> None:
    assert set(KEYED) == {"_open_account", "remove_account", "deposit", "withdraw", "add", "cancel", "refill"}
