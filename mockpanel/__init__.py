"""mockpanel: a stateful mock SMM panel (API v2), a pytest plugin and a conformance suite."""

from .dialects.profile import Dialect, DialectError, available_dialects, load_dialect
from .domain.accounts import redact
from .domain.catalog import Catalog, Service, load_catalog
from .domain.clock import VirtualClock
from .domain.errors import ErrorCode, PanelError
from .domain.lifecycle import RefillStatus, Status
from .domain.panel import Panel, PanelSettings
from .domain.plans import LifecycleSettings
from .server.app import build_panel, create_app
from .server.inprocess import SyncASGITransport, inprocess_client
from .server.thread import ServerThread

__version__ = "0.1.0"

__all__ = [
    "Catalog",
    "Dialect",
    "DialectError",
    "ErrorCode",
    "LifecycleSettings",
    "Panel",
    "PanelError",
    "PanelSettings",
    "RefillStatus",
    "ServerThread",
    "Service",
    "Status",
    "SyncASGITransport",
    "VirtualClock",
    "available_dialects",
    "build_panel",
    "create_app",
    "inprocess_client",
    "load_catalog",
    "load_dialect",
    "redact",
]
