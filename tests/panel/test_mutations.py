"""The state-changing operations are listed once (``@mutation``), and state files record exactly those.

The panel users get is made by composition: it owns a domain core, forcing and a recording,
and every listed operation reaches the recording's recorder when called on it."""

from __future__ import annotations

import inspect
from types import FunctionType
from typing import Any

from mockpanel._catalogs import load_catalog
from mockpanel._panel.panel import Panel
from mockpanel._panel.snapshot import dump
from mockpanel._domain.clock import VirtualClock
from mockpanel._domain.mutations import MUTATIONS
from mockpanel._domain.panel import PanelCore
from mockpanel._domain.servicetypes import OrderRequest
from mockpanel._persistence.records import KEYED, OPERATIONS, RECORDED, STORED_NAMES

KEY = "mutations-key"


class ListRecorder:
    """A recorder that keeps the name of every change it is told of (and whether it committed)."""

    def __init__(self) -> None:
        self.prepared: list[str] = []
        self.committed: list[str] = []

    def prepare(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        self.prepared.append(name)
        return name

    def commit(self, entry: str, at: float) -> None:
        self.committed.append(entry)


def every_operation(panel: Panel) -> None:
    """Each operation of the panel's list, called once on the panel users get."""
    panel.create_account(KEY, balance="100")  # open_account
    panel.deposit(KEY, "5")
    panel.withdraw(KEY, "1")
    order = panel.add(KEY, "1", {"link": "https://x.test/a", "quantity": "100"})  # place_order
    panel.place_order(KEY, 1, OrderRequest("https://x.test/b", 100))
    panel.set_outcome(order, "Partial")
    panel.cancel(KEY, order)
    done = panel.place_order(KEY, 1, OrderRequest("https://x.test/c", 100))
    panel.set_order(done, status="Completed")
    refill = panel.refill(KEY, done)
    panel.set_refill(refill, "Completed")
    panel.update_service(3, rate="0.5", name="renamed")  # a change named like run()'s own arguments
    panel.put_service({"service": 900, "name": "new", "type": "Default", "rate": "1", "min": 1, "max": 10})
    panel.restore_snapshot(dump(panel.core))
    panel.remove_account(KEY)
    panel.reset()


def test_every_listed_operation_reaches_the_recorder_once_and_nothing_else_does() -> None:
    panel = Panel(catalog=load_catalog(), clock=VirtualClock(speed=0, start=1_700_000_000), seed=1)
    recorder = ListRecorder()
    panel.recording.attach(recorder)
    every_operation(panel)
    assert sorted(set(recorder.prepared)) == sorted(MUTATIONS)
    assert recorder.committed == recorder.prepared  # each succeeded, and was committed
    assert recorder.prepared == [  # add is recorded as the place_order it makes; nothing twice
        "open_account", "deposit", "withdraw", "place_order", "place_order", "set_outcome", "cancel", "place_order",
        "set_order", "refill", "set_refill", "update_service", "put_service", "restore_snapshot", "remove_account",
        "reset",
    ]


def test_a_batch_is_recorded_as_its_items_and_a_refused_change_not_at_all() -> None:
    panel = Panel(catalog=load_catalog(), clock=VirtualClock(speed=0, start=1_700_000_000), seed=1)
    panel.create_account(KEY, balance="100")
    order = panel.add(KEY, "1", {"link": "https://x.test/a", "quantity": "100"})
    recorder = ListRecorder()
    panel.recording.attach(recorder)
    results = panel.cancel_many(KEY, [order, 999_999, None])
    assert results[0] is None and results[1] is not None and results[2] is not None
    assert recorder.prepared == ["cancel", "cancel", "cancel"]  # one change per item, each at its own instant
    assert recorder.committed == ["cancel"]  # the refused ones were never committed


def test_state_files_record_every_listed_operation_and_only_those() -> None:
    assert set(RECORDED) == set(MUTATIONS)
    assert {"place_order", "deposit", "cancel", "refill", "set_order", "restore_snapshot", "open_account"} <= set(RECORDED)
    # Files spell open_account as they always have; files written before orders were typed hold "add".
    assert STORED_NAMES == {"open_account": "_open_account"}
    assert set(OPERATIONS) == (set(RECORDED) - {"open_account"}) | {"_open_account", "add"}


def test_keyed_operations_are_those_whose_first_argument_is_the_key() -> None:
    assert set(KEYED) == {"open_account", "remove_account", "deposit", "withdraw", "place_order", "cancel", "refill"}


def test_the_panel_is_made_by_composition_and_nothing_is_patched_onto_it() -> None:
    # No chain of base classes: the panel owns a core, forcing and a recording.
    assert Panel.__mro__ == (Panel, object) and PanelCore.__mro__ == (PanelCore, object)
    panel = Panel()
    assert isinstance(panel.core, PanelCore) and panel.forcing.core is panel.core
    assert panel.recording.recorder is None
    # Every method of the panel is written in its class, none wrapped or set from outside.
    for cls in (Panel, PanelCore):
        for name, value in vars(cls).items():
            if isinstance(value, FunctionType):
                assert value.__qualname__ == f"{cls.__name__}.{name}", (cls, name)
                assert not hasattr(value, "__wrapped__"), (cls, name)
                assert inspect.getmodule(value) is inspect.getmodule(cls), (cls, name)


def test_the_domain_core_declares_its_changes_and_records_nothing() -> None:
    # The domain lists which methods change state; recording, wire fields and forcing are the control side's.
    core = PanelCore()
    assert not hasattr(core, "recording") and not hasattr(core, "recorder")
    for name in ("add", "set_order", "set_outcome", "set_refill", "find_order", "restore_snapshot"):
        assert not hasattr(PanelCore, name) and hasattr(Panel, name), name
    control_only = {"set_order", "set_outcome", "set_refill", "restore_snapshot"}
    assert all(hasattr(PanelCore, name) for name in set(MUTATIONS) - control_only)
    assert all(hasattr(Panel, name) for name in MUTATIONS)

