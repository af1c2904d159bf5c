"""The state-changing operations are listed once (``@mutation``), and state files record exactly those."""

from __future__ import annotations

from types import FunctionType

from mockpanel.control.panel import Panel
from mockpanel.domain.mutations import MUTATIONS
from mockpanel.domain.panel import Panel as DomainPanel
from mockpanel.persistence.records import KEYED, OPERATIONS, RECORDED


def test_state_files_record_every_listed_method_and_only_those() -> None:
    wrapped = {name for name, value in vars(Panel).items() if isinstance(value, FunctionType) and hasattr(value, "__wrapped__")}
    assert {"place_order", "deposit", "cancel", "refill", "set_order", "restore_snapshot"} <= wrapped
    assert set(RECORDED) == wrapped == set(MUTATIONS)
    assert set(OPERATIONS) == wrapped | {"add"}  # files written before orders were typed hold "add"


def test_keyed_operations_are_those_whose_first_argument_is_the_key() -> None:
    assert set(KEYED) == {"_open_account", "remove_account", "deposit", "withdraw", "place_order", "cancel", "refill"}


def test_the_domain_panel_declares_its_changes_and_records_nothing() -> None:
    # The domain lists which methods change state; recording, wire fields and forcing are the control side's.
    domain_methods = [v for cls in DomainPanel.__mro__ for v in vars(cls).values() if isinstance(v, FunctionType)]
    assert not any(hasattr(v, "__wrapped__") for v in domain_methods)
    assert all(hasattr(DomainPanel, name) for name in MUTATIONS if name not in vars(Panel.__mro__[1]) | vars(Panel))
    for name in ("add", "set_order", "set_outcome", "set_refill", "find_order", "restore_snapshot"):
        assert not hasattr(DomainPanel, name) and hasattr(Panel, name), name
    assert not hasattr(DomainPanel(), "recorder") and Panel().recorder is None
    assert issubclass(Panel, DomainPanel)
