"""httpx transports over the ASGI app: the mock without a socket.

``httpx.ASGITransport`` already serves ``httpx.AsyncClient``. ``SyncASGITransport``
serves a plain ``httpx.Client``: it runs the app on its own event loop in a
background thread, so it also works when the caller is inside a running loop.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
from starlette.types import ASGIApp


class SyncASGITransport(httpx.BaseTransport):
    """An httpx transport that calls an ASGI app in this process: a synchronous ``httpx.Client`` with no socket."""

    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._inner = httpx.ASGITransport(app=app, client=client)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mockpanel-inprocess", daemon=True)
        self._thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Run one request through the app and return its response."""
        body = request.read()

        async def call() -> tuple[int, Any, bytes]:
            async_request = httpx.Request(
                request.method, request.url, headers=request.headers, content=body, extensions=request.extensions
            )
            response = await self._inner.handle_async_request(async_request)
            content = await response.aread()
            return response.status_code, response.headers, content

        status, headers, content = asyncio.run_coroutine_threadsafe(call(), self._loop).result()
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        """Release the transport's event loop."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()


def inprocess_client(app: ASGIApp, base_url: str = "http://mockpanel.local", **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` wired to ``app`` with no socket."""
    return httpx.Client(transport=SyncASGITransport(app), base_url=base_url, **kwargs)
