"""mockpanel: a stateful mock SMM panel (API v2), a pytest plugin and a conformance suite."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover  (for type checkers: the names of _EXPORTS, below, with their types)
    from ._catalog_generate import generate_catalog as generate_catalog
    from ._catalogs import load_catalog as load_catalog
    from ._panel.panel import Panel as Panel
    from ._dialects.profile import Dialect as Dialect
    from ._dialects.profile import DialectError as DialectError
    from ._dialects.profile import available_dialects as available_dialects
    from ._dialects.profile import load_dialect as load_dialect
    from ._domain.accounts import redact as redact
    from ._domain.catalog import Catalog as Catalog
    from ._domain.catalog import Service as Service
    from ._domain.clock import VirtualClock as VirtualClock
    from ._domain.errors import ErrorCode as ErrorCode
    from ._domain.errors import PanelError as PanelError
    from ._domain.lifecycle import RefillStatus as RefillStatus
    from ._domain.lifecycle import Status as Status
    from ._domain.plans import LifecycleSettings as LifecycleSettings
    from ._domain.settings import PanelSettings as PanelSettings
    from ._server.app import build_panel as build_panel
    from ._server.app import create_app as create_app
    from ._server.inprocess import SyncASGITransport as SyncASGITransport
    from ._server.inprocess import inprocess_client as inprocess_client
    from ._server.thread import ServerThread as ServerThread
    from ._testing import MockPanel as MockPanel
    from ._testing import mock_panel as mock_panel

from ._version import __version__ as __version__

# Imported on first use (PEP 562): pytest loads this package for its plugin in every session,
# and the server stack (Starlette, uvicorn, httpx) should cost nothing to a session that does not use it.
_EXPORTS = {
    "Dialect": "_dialects.profile",
    "DialectError": "_dialects.profile",
    "available_dialects": "_dialects.profile",
    "load_dialect": "_dialects.profile",
    "redact": "_domain.accounts",
    "Catalog": "_domain.catalog",
    "Service": "_domain.catalog",
    "load_catalog": "_catalogs",
    "generate_catalog": "_catalog_generate",
    "VirtualClock": "_domain.clock",
    "ErrorCode": "_domain.errors",
    "PanelError": "_domain.errors",
    "RefillStatus": "_domain.lifecycle",
    "Status": "_domain.lifecycle",
    "Panel": "_panel.panel",
    "PanelSettings": "_domain.settings",
    "LifecycleSettings": "_domain.plans",
    "build_panel": "_server.app",
    "create_app": "_server.app",
    "SyncASGITransport": "_server.inprocess",
    "inprocess_client": "_server.inprocess",
    "ServerThread": "_server.thread",
    "MockPanel": "_testing",
    "mock_panel": "_testing",
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
