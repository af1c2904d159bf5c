"""A hub: one ASGI app (and, lazily, one server) hosting many mock panels at once.

Each panel is an app from ``create_app`` mounted under ``/p/<id>``: its API at
``/p/<id>/api/v2`` and its control API at ``/p/<id>/_mock/``. The id is a random token,
not a counter: a test cannot reach another test's panel by counting. Mounting and unmounting is a
dict operation, so a pytest session can give every test its own panel (own clock,
seed, catalogue, dialect, faults and journal) on one server, and a test can have
several panels at once (a reseller's failover between providers).
"""

from __future__ import annotations

import secrets
import threading
from typing import TYPE_CHECKING, Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from .._endpoint.api import json_bytes, send_json
from .inprocess import SyncASGITransport
from .thread import ServerThread

if TYPE_CHECKING:  # pragma: no cover
    from .hotpath import HotPath

PREFIX = "/p/"
_PREFIX = PREFIX.encode()
INPROCESS_ORIGIN = "http://mockpanel.local"
ID_BYTES = 12  # of randomness in a panel's id


class Hub:
    """Routes ``/p/<id>/...`` to the panel mounted as ``<id>``; anything else gets a JSON 404."""

    def __init__(self) -> None:
        self._apps: dict[str, ASGIApp] = {}

    def mount(self, app: ASGIApp) -> str:
        """Serve ``app`` under a new prefix; returns the prefix (``/p/<id>``, the id 24 random hex digits)."""
        # 96 random bits: a panel cannot be found from another's id, and a stale client gets a
        # 404, not a later test's panel (as good as never reused).
        name = secrets.token_hex(ID_BYTES)
        while name in self._apps:  # pragma: no cover - 2**-96
            name = secrets.token_hex(ID_BYTES)
        self._apps[name] = app
        return PREFIX + name

    def unmount(self, prefix: str) -> None:
        self._apps.pop(prefix[len(PREFIX):], None)

    def __len__(self) -> int:
        return len(self._apps)

    def direct_entry(self, url: bytes) -> tuple[HotPath, str] | None:
        """The hot path of the panel a raw URL ``/p/<id>/<path>`` names, and its prefix, for the
        HTTP layer to answer in the connection (_server/protocol.py), as ``__call__`` would route it."""
        if not url.startswith(_PREFIX):
            return None
        raw, slash, rest = url[len(_PREFIX):].partition(b"/")
        name = raw.decode("latin-1")
        app = self._apps.get(name)
        entry = getattr(app, "direct_entry", None)
        found: tuple[HotPath, str] | None = entry(slash + rest) if entry is not None else None
        if found is None:
            return None
        hot, root = found
        return hot, PREFIX + name + root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith(PREFIX):
            name, _, _ = path[len(PREFIX):].partition("/")
            app = self._apps.get(name)
            if app is not None:
                # Starlette routes on path minus root_path: the panel sees /api/v2, /_mock/...
                child = dict(scope)
                child["root_path"] = scope.get("root_path", "") + PREFIX + name
                await app(child, receive, send)
                return
        if scope["type"] != "http":
            return
        message = "no mock panel here: panels live at /p/<id>/ while the test that made them runs"
        await send_json(send, 404, json_bytes({"error": message}))


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class _Borrowed(httpx.BaseTransport):
    """The hub's shared in-process transport, lent to one client: closing the client
    must not stop the session's event loop."""

    def __init__(self, inner: SyncASGITransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        pass


class HubServer:
    """A hub with its ways in, each made on first use: a uvicorn server on a free
    loopback port (``url``) and an in-process transport (``transport``)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.hub = Hub()
        self.host = host
        self._server: ServerThread | None = None
        self._transport: SyncASGITransport | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The server's origin, e.g. http://127.0.0.1:43123 (starts the server)."""
        if self._server is None:
            with self._lock:
                if self._server is None:
                    self._server = ServerThread(self.hub, self.host).start()
        return self._server.url

    @property
    def started(self) -> bool:
        """True once its uvicorn server is running."""
        return self._server is not None

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport into the hub with no socket (for a sync ``httpx.Client``)."""
        if self._transport is None:
            with self._lock:
                if self._transport is None:
                    self._transport = SyncASGITransport(self.hub)
        return _Borrowed(self._transport)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport into the hub for ``httpx.AsyncClient``, run on the caller's loop."""
        return httpx.ASGITransport(app=self.hub, client=("127.0.0.1", 50000))

    def close(self) -> None:
        """Stop the server (if started) and close the in-process transport."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def __enter__(self) -> "HubServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
