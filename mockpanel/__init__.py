"""mockpanel: a stateful mock SMM panel (API v2), a pytest plugin and a conformance suite."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover  (for type checkers: the names of _EXPORTS, below, with their types)
    from .catalogs import load_catalog as load_catalog
    from .control.panel import Panel as Panel
    from .dialects.profile import Dialect as Dialect
    from .dialects.profile import DialectError as DialectError
    from .dialects.profile import available_dialects as available_dialects
    from .dialects.profile import load_dialect as load_dialect
    from .domain.accounts import redact as redact
    from .domain.catalog import Catalog as Catalog
    from .domain.catalog import Service as Service
    from .domain.clock import VirtualClock as VirtualClock
    from .domain.errors import ErrorCode as ErrorCode
    from .domain.errors import PanelError as PanelError
    from .domain.lifecycle import RefillStatus as RefillStatus
    from .domain.lifecycle import Status as Status
    from .domain.plans import LifecycleSettings as LifecycleSettings
    from .domain.settings import PanelSettings as PanelSettings
    from .server.app import build_panel as build_panel
    from .server.app import create_app as create_app
    from .server.inprocess import SyncASGITransport as SyncASGITransport
    from .server.inprocess import inprocess_client as inprocess_client
    from .server.thread import ServerThread as ServerThread
    from .testing import MockPanel as MockPanel
    from .testing import mock_panel as mock_panel

from ._version import __version__ as __version__

# Imported on first use (PEP 562): pytest loads this package for its plugin in every session,
# and the server stack (Starlette, uvicorn, httpx) should cost nothing to a session that does not use it.
_EXPORTS = {
    "Dialect": "dialects.profile",
    "DialectError": "dialects.profile",
    "available_dialects": "dialects.profile",
    "load_dialect": "dialects.profile",
    "redact": "domain.accounts",
    "Catalog": "domain.catalog",
    "Service": "domain.catalog",
    "load_catalog": "catalogs",
    "VirtualClock": "domain.clock",
    "ErrorCode": "domain.errors",
    "PanelError": "domain.errors",
    "RefillStatus": "domain.lifecycle",
    "Status": "domain.lifecycle",
    "Panel": "control.panel",
    "PanelSettings": "domain.settings",
    "LifecycleSettings": "domain.plans",
    "build_panel": "server.app",
    "create_app": "server.app",
    "SyncASGITransport": "server.inprocess",
    "inprocess_client": "server.inprocess",
    "ServerThread": "server.thread",
    "MockPanel": "testing",
    "mock_panel": "testing",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


# The one export table: __all__ is its keys (tests/test_public_api.py checks the typing block above matches it).
__all__ = list(_EXPORTS)
