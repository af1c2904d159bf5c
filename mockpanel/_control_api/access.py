"""Who may use the control API and the UI: loopback clients, or anyone with the admin token.

The mock's one loopback test is here (the conformance suite keeps its own, by design).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request as HttpRequest
from starlette.responses import Response

__all__ = ["client_host", "control_error", "is_loopback", "refusal", "token_of"]


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
