"""CORS for the panel API, opt-in (``mockpanel serve --cors ORIGIN``): a web page of a listed origin
may call the API from a browser and read its answers. Never for the control API (/_mock/), which
refuses pages of other sites by design (_control_api/access.py).

A request whose ``Origin`` is listed gets ``Access-Control-Allow-Origin`` (that origin) on its answer;
its preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered 204 here, allowing GET
and POST and the headers it asks for. A request from an origin not listed gets no CORS header at all,
so the browser keeps the answer from the page. ``*`` lists every origin.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ANY = "*"
METHODS = "GET, POST"  # what the API answers (API v2 is a POST; some dialects read GET too)
MAX_AGE = "600"  # seconds a browser may keep a preflight's answer


def cors_origins(origins: Iterable[str]) -> frozenset[str]:
    """The origins as the ``Origin`` header spells them (no trailing slash, lower case); a
    ValueError naming the first one that is not an origin."""
    checked = set()
    for origin in origins:
        value = origin.strip().rstrip("/").lower()
        scheme, sep, rest = value.partition("://")
        if value != ANY and (scheme not in ("http", "https") or not sep or not rest or "/" in rest):
            raise ValueError(f"--cors {origin!r} is not an origin: give scheme://host[:port] "
                             "(e.g. http://localhost:3000), or '*' for any")
        checked.add(value)
    return frozenset(checked)


class Cors:
    """The API's entry, with CORS for ``origins`` (see the module's docstring)."""

    def __init__(self, app: ASGIApp, origins: frozenset[str]) -> None:
        self.app = app
        self.origins = origins

    def allowed(self, origin: str | None) -> bool:
        return origin is not None and (ANY in self.origins or origin.lower() in self.origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if not self.allowed(origin):
            await self.app(scope, receive, send)
            return
        assert origin is not None
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            answer = [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-methods", METHODS.encode()),
                (b"access-control-max-age", MAX_AGE.encode()),
                (b"vary", b"Origin"),
                (b"content-length", b"0"),
            ]
            asked = headers.get("access-control-request-headers")
            if asked:
                answer.append((b"access-control-allow-headers", asked[:1000].encode("latin-1")))
            await send({"type": "http.response.start", "status": 204, "headers": answer})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = origin
                out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, with_cors)
