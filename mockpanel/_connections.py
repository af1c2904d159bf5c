"""The open connections of this process's mockpanel servers, by address: how the ``drop`` fault closes one.

Both ways of serving a connection register it here, keyed by the two addresses a request's ASGI scope
carries (``server`` and ``client``), so the app finds the connection of the request it is answering
through the scope alone, on either path. A request whose scope names no connection here (in-process,
another server, a client address rewritten from ``X-Forwarded-For``) finds none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

Address = tuple[tuple[str, int], tuple[str, int]]

_OPEN: dict[Address, asyncio.BaseTransport] = {}  # dict operations are atomic: servers in threads share it


def _pair(value: Any) -> tuple[str, int] | None:
    if isinstance(value, (tuple, list)) and len(value) >= 2 and isinstance(value[1], int):
        return str(value[0]), value[1]
    return None  # a Unix socket's path, or nothing


def opened(transport: asyncio.BaseTransport) -> Address | None:
    """Register a new connection; its address, or None when it has none (a Unix socket)."""
    server, client = _pair(transport.get_extra_info("sockname")), _pair(transport.get_extra_info("peername"))
    if server is None or client is None:
        return None
    address = (server, client)
    _OPEN[address] = transport
    return address


def closed(address: Address | None) -> None:
    """The connection is gone."""
    if address is not None:
        _OPEN.pop(address, None)


def of(scope: Mapping[str, Any]) -> asyncio.BaseTransport | None:
    """The open connection a request came on, by its scope's ``server`` and ``client``; None if unknown."""
    server, client = _pair(scope.get("server")), _pair(scope.get("client"))
    if server is None or client is None:
        return None
    return _OPEN.get((server, client))
