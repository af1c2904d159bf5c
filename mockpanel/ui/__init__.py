"""The dashboard at ``/_mock/ui``: the panel's keys, orders, refills, journal, faults and
clock on one server-rendered page, with controls. It imports Jinja2 on its first request,
so an app that never shows the page pays nothing for it (ui/app.py does the work)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send


class _Lazy:
    """The dashboard's router, built on first use."""

    app = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _Lazy.app is None:
            from .app import router

            _Lazy.app = router()
        await _Lazy.app(scope, receive, send)


class _Page:
    """``/_mock/ui`` (no slash) is the router's page ``/``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope = {**scope, "path": scope["path"] + "/", "root_path": scope.get("root_path", "") + "/ui"}
        await _Lazy()(scope, receive, send)


UI_ROUTES: list[BaseRoute] = [Route("/ui", _Page(), methods=["GET", "HEAD"]), Mount("/ui", app=_Lazy())]
