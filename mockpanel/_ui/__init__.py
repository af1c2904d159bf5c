"""The dashboard at ``/_mock/ui``: the panel's keys, orders, refills, journal, faults and
clock on one server-rendered page, with controls. It imports Jinja2 on its first request,
so an app that never shows the page pays nothing for it (_ui/app.py does the work)."""

from __future__ import annotations

from typing import ClassVar

from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send


class _Lazy:
    """The dashboard's router, built on first use."""

    app: ClassVar[ASGIApp | None] = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = _Lazy.app
        if app is None:
            from .app import router

            app = _Lazy.app = router()
        await app(scope, receive, send)


class _Page:
    """``/_mock/ui`` (no slash) is the router's page ``/``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope = {**scope, "path": scope["path"] + "/", "root_path": scope.get("root_path", "") + "/ui"}
        await _Lazy()(scope, receive, send)


UI_ROUTES: list[BaseRoute] = [Route("/ui", _Page(), methods=["GET", "HEAD"]), Mount("/ui", app=_Lazy())]
