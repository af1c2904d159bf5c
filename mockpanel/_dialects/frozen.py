"""Read-only copies of profile values, so a Dialect shared between tests cannot be changed by one of them.

A Dialect is cached and handed to every panel that names it (mockpanel/_testing.py): a test
that wrote into ``dialect.statuses`` would change the next test's panel. ``frozen`` makes
mappings read-only (``types.MappingProxyType``) and lists tuples, all the way down;
``thawed`` gives a fresh JSON-ready copy where a frozen value is sent as an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any


def frozen(value: Any) -> Any:
    """``value`` with every mapping read-only and every list or set a tuple or frozenset, recursively."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(frozen(v) for v in value)
    return value


def thawed(value: Any) -> Any:
    """A fresh, mutable, JSON-ready copy of a frozen value: mappings become dicts, tuples lists."""
    if isinstance(value, Mapping):
        return {k: thawed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thawed(v) for v in value]
    return value
