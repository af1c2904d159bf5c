"""Every public name a user meets has a docstring: what mockpanel exports, and the types it hands out."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import mockpanel
from mockpanel._domain.accounts import Account, LedgerEntry
from mockpanel._domain.orders import Order, OrderState
from mockpanel._domain.refills import Refill
from mockpanel._domain.servicetypes import ServiceType
from mockpanel._powers.faults import Fault
from mockpanel._server.hub import HubServer
from mockpanel._powers.journal import Journal, Request

# Returned by exported functions and methods: MockPanel.fault/.requests/.journal, Panel's methods,
# the mockpanel_server fixture.
RECEIVED: dict[str, Any] = {
    "Fault": Fault, "Request": Request, "Journal": Journal, "Order": Order, "OrderState": OrderState,
    "Refill": Refill, "Account": Account, "LedgerEntry": LedgerEntry, "HubServer": HubServer,
    "ServiceType": ServiceType,
}
PUBLIC = {**{name: getattr(mockpanel, name) for name in mockpanel.__all__}, **RECEIVED}


def _members(cls: type) -> list[tuple[str, Any]]:
    out = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (classmethod, staticmethod)):
            value = value.__func__
        if isinstance(value, property) or inspect.isfunction(value):  # a property's doc is its getter's
            out.append((f"{cls.__name__}.{name}", value))
    return out


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_name_and_its_methods_have_docstrings(name: str) -> None:
    obj = PUBLIC[name]
    own = obj.__doc__ if inspect.isclass(obj) else inspect.getdoc(obj)
    missing = [] if (own or "").strip() else [name]
    if inspect.isclass(obj):
        missing += [member for member, fn in _members(obj) if not (fn.__doc__ or "").strip()]
    assert missing == []


def test_all_lists_what_the_package_exports() -> None:
    for name in mockpanel.__all__:
        assert getattr(mockpanel, name) is not None
    assert set(mockpanel.__all__) <= set(dir(mockpanel))
