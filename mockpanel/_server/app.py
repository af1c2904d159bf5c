"""create_app: the Starlette app around one panel and one dialect."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .._catalogs import load_catalog
from .._dialects.profile import Dialect, load_dialect
from .._domain.catalog import Catalog
from .._domain.clock import VirtualClock
from .._panel.panel import Panel
from .._dialects.order_fields import OrderRules
from .._domain.servicetypes import SERVICE_TYPES
from .._domain.settings import PanelSettings
from .._ui import UI_ROUTES
from .._endpoint.api import MAX_BODY, ApiEndpoint
from .._powers.control import Control
from .._control_api.routes import control_routes
from .cors import Cors, cors_origins
from .hotpath import REFUSALS, HotPath, entry_point, failure, guarded
from .._powers.middleware import FaultMiddleware
from .._powers.triggers import install as install_triggers

# The control API and, beside it under /_mock, the dashboard: built once, shared by every app.
_CONTROL_ROUTES = control_routes(UI_ROUTES)


def panel_settings(dialect: Dialect, **overrides: Any) -> PanelSettings:
    """The domain rules a dialect implies (batch limit, duplicate links, drip-feed, delays)."""
    standard = {name: (t.required, t.optional) for name, t in SERVICE_TYPES.items()}
    type_fields = {
        name: (spec.get("required", standard[name][0]), spec.get("optional", standard[name][1]))
        for name, spec in dialect.type_fields.items()
    }
    rules = OrderRules(
        intervals=dialect.dripfeed_intervals, delays=dialect.subscription_delays, type_fields=type_fields,
        **dialect.limits,
    )
    base: dict[str, Any] = dict(
        rules=rules,
        batch_limit=dialect.batch_limit,
        duplicate_links=dialect.duplicate_links,
        refill_after_partial=dialect.refill_after_partial,
    )
    base.update(overrides)
    return PanelSettings(**base)


def build_panel(
    dialect: str | Dialect = "standard",
    *,
    catalog: str | Catalog | None = None,
    seed: int = 0,
    speed: float = 1.0,
    clock: VirtualClock | None = None,
    **settings: Any,
) -> Panel:
    """A panel that follows a dialect's rules, selling only the service types it knows."""
    dialect = load_dialect(dialect)
    if catalog is None:
        catalog = dialect.catalog
    if isinstance(catalog, str):
        catalog = load_catalog(catalog)
    if dialect.service_types is not None:
        catalog = Catalog([s for s in catalog if s.type.name in dialect.service_types])
    return Panel(
        catalog=catalog,
        clock=clock or VirtualClock(speed=speed),
        settings=panel_settings(dialect, seed=seed, **settings),
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "Not found"}, status_code=404)


async def _server_error(request: Request, exc: Exception) -> Response:
    # Never reached by the API's own actions (they answer errors as JSON); a safety net.
    return JSONResponse({"error": "Internal error"}, status_code=500)


async def _refused(request: Request, exc: Exception) -> Response:
    status, body = failure(exc)  # a change the mock's own bounds refused (hotpath.REFUSED)
    return Response(body, status, media_type="application/json")


class MockApp(Starlette):
    """Starlette, with a fast path for the panel's own endpoint.

    API requests are the hot path (a client polling statuses, a load test): they go
    straight to the endpoint, skipping Starlette's middleware and router, which cost
    more than all of the panel's own work for ``balance`` (bench/README.md). Every
    other path (the control API, 404s) goes through Starlette as usual.
    """

    api_paths: dict[str, ASGIApp] = {}

    def direct_entry(self, url: bytes) -> tuple[HotPath, str] | None:
        """The hot path for a request's raw URL, for the HTTP layer to answer it in the connection
        (_server/protocol.py): an API path exactly, no query string."""
        entry = self.api_paths.get(url.decode("latin-1"))
        # uvicorn's path is the URL's, unescaped (``find``: ``in`` on bytes costs a TypeError raised and cleared)
        if isinstance(entry, HotPath) and url.find(b"%") < 0:
            return entry, ""
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root):]  # mounted (the pytest hub): route on the rest, as Starlette does
            entry = self.api_paths.get(path)
            if entry is not None:
                if entry.__class__ is HotPath:
                    await entry(scope, receive, send)  # it guards itself
                else:
                    await guarded(entry, scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    panel: Panel | None = None,
    dialect: str | Dialect = "standard",
    *,
    max_body: int = MAX_BODY,
    extra_routes: list[BaseRoute] | None = None,
    control: bool = True,
    admin_token: str | None = None,
    cors: Iterable[str] = (),
) -> Starlette:
    """The app: the dialect's endpoint(s) and, with ``control``, the control API under
    /_mock/, the request journal, faults and in-band triggers (_powers/control.py). ``cors``: the
    origins whose web pages may call the API (cors.py; never the control API)."""
    dialect = load_dialect(dialect)
    panel = panel if panel is not None else build_panel(dialect)
    api = ApiEndpoint(panel, dialect, max_body=max_body)
    routes: list[BaseRoute] = list(extra_routes or [])
    entry: Any = api
    controller = None
    if control:
        controller = Control(panel, dialect)
        api.observers.append(controller.journal.record)
        entry = FaultMiddleware(api, controller)
        install_triggers(panel)
    entry = entry_point(api, controller, entry)
    if cors:
        entry = Cors(entry, cors_origins(cors))  # off the hot path: MockApp.direct_entry serves HotPath only
    api_paths: dict[str, Any] = {}
    for path in dialect.endpoints:
        path = path.rstrip("/")
        routes += [Route(path, entry, name=f"api:{path}"), Route(path + "/", entry)]
        api_paths[path] = api_paths[path + "/"] = entry
    if control:
        routes += _CONTROL_ROUTES  # after the API's routes: the hot path matches first
    app = MockApp(
        routes=routes,
        exception_handlers={404: _not_found, 405: _not_found, 500: _server_error, **dict.fromkeys(REFUSALS, _refused)},
    )
    # Both spellings of each endpoint are routed; a redirect ("/api/v2//" -> 307, empty
    # body) would be a non-JSON answer, so any other path gets the JSON 404.
    app.router.redirect_slashes = False
    app.api_paths = api_paths
    app.state.panel = panel
    app.state.dialect = dialect
    app.state.api = api
    app.state.control = controller
    app.state.admin_token = admin_token
    app.state.started = time.monotonic()  # GET /_mock/health's uptime
    return app
