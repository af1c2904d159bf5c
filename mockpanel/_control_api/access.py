"""Who may use the control API and the UI: loopback clients, or anyone with the admin token; and
which requests may change the mock: none that a web page of another site could have sent.

The mock's one loopback test is here (the conformance suite keeps its own, by design).

A browser lets any page send "simple" requests to any server, loopback ones included, without
asking it first (a CORS preflight): a ``POST`` whose body is ``text/plain``, a form, or nothing.
The page cannot read the answer, but the request is run. So a request that changes the mock
(any method but ``GET``, ``HEAD`` and ``OPTIONS``) is refused when it says it comes from a page
this server did not serve (its ``Origin``, or ``Sec-Fetch-Site`` when it has no ``Origin``), and,
whatever its origin, when its body is not JSON: a page of another site can send JSON only after a
preflight, which this server never grants. Clients that are not browsers (curl, httpx, tests)
send no ``Origin`` and are not affected. docs/control-api.md says which attacks this stops.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request as HttpRequest
from starlette.responses import Response

from .._endpoint.api import is_json_type

__all__ = ["client_host", "control_error", "forged", "is_loopback", "refusal", "token_of"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # RFC 9110 section 9.2.1: they change nothing here
SAME_SITE = frozenset({"same-origin", "none"})  # Sec-Fetch-Site of the mock's own page, or of the user's own typing


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1, IPv4-mapped loopback and the name ``localhost`` (RFC 6761:
    it and its subdomains are loopback); False for anything else, other names included."""
    if not host:
        return False
    name = host.strip("[]").split("%", 1)[0].rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def client_host(scope: Mapping[str, Any]) -> str | None:
    """The client's address in an ASGI scope, or None."""
    client = scope.get("client")
    return client[0] if client else None


def token_of(request: HttpRequest) -> str | None:
    """The admin token a request carries (Bearer or X-Mock-Token), or None."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("x-mock-token")


def control_error(status: int, message: str, field: str | None = None) -> Response:
    """The control API's error answer: ``{"error": message, "field": field}``."""
    payload: dict[str, Any] = {"error": message}
    if field is not None:
        payload["field"] = field
    return Response(orjson.dumps(payload), status, media_type="application/json")


def refusal(request: HttpRequest) -> Response | None:
    """Why this request may not use the control API, or None when it may."""
    token = getattr(request.app.state, "admin_token", None)
    if token:
        given = token_of(request)
        if given is None or not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), token.encode()):
            return control_error(
                401,
                "the control API needs the admin token this server was started with: send "
                "'Authorization: Bearer TOKEN' or 'X-Mock-Token: TOKEN'",
            )
        return None
    if not is_loopback(client_host(request.scope)):
        return control_error(
            403,
            "the control API answers only clients on this machine (loopback); start the server with "
            "--admin-token TOKEN (or MOCKPANEL_ADMIN_TOKEN) and send the token to reach it from elsewhere",
        )
    return None


def served_origin(origin: str, host: str | None) -> bool:
    """Whether ``origin`` (an ``Origin`` header) is the origin the request was sent to (its ``Host``)."""
    if host is None:
        return False
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
        return False  # "null" (a sandboxed frame, a file), or not an origin at all
    default = ":80" if parts.scheme == "http" else ":443"
    return parts.netloc.lower().removesuffix(default) == host.strip().lower().removesuffix(default)


def forged(request: HttpRequest, *, json_body: bool = True) -> Response | None:
    """Why a request that changes the mock may come from a web page of another site (403, 415), or
    None when it may not: see this module's docstring. ``json_body=False``: a form of the dashboard's
    own (its sign-in), checked for its origin only."""
    if request.method in SAFE_METHODS:
        return None
    headers = request.headers
    origin = headers.get("origin")
    if origin is not None:
        if not served_origin(origin, headers.get("host")):
            return control_error(
                403,
                f"this request comes from a web page of another site (Origin: {origin[:100]}), which may not "
                "change the mock; send it from a client that is not a browser (curl, httpx, your tests send no "
                "Origin), or from the dashboard this server serves",
            )
    elif headers.get("sec-fetch-site", "none") not in SAME_SITE:
        return control_error(
            403,
            f"this request comes from a web page of another site (Sec-Fetch-Site: "
            f"{headers.get('sec-fetch-site', '')[:40]}), which may not change the mock; send it from a client that "
            "is not a browser, or from the dashboard this server serves",
        )
    if not json_body:
        return None
    content_type = headers.get("content-type")
    if content_type is None:
        if headers.get("content-length", "0").strip() in ("0", "") and "transfer-encoding" not in headers:
            return None  # no body at all: nothing a form or a text/plain post could carry
        return control_error(415, "a request that changes the mock sends its body as JSON: add "
                                  "'Content-Type: application/json'")
    if not is_json_type(content_type.encode("latin-1")):
        return control_error(
            415,
            f"a request that changes the mock sends its body as JSON, with 'Content-Type: application/json' (this "
            f"one says {content_type[:80]!r}): a web page of another site can send forms and text/plain without "
            "asking, and JSON only if this server agreed, which it never does",
        )
    return None
