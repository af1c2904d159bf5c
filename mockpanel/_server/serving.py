"""How every mockpanel server serves HTTP: the direct path where it was tested, else uvicorn's public path.

The direct path (_server/protocol.py) answers the common request in the connection and accepts
waiting connections in batches; it leans on uvicorn's internals, so a process uses it only when
``protocol.unsupported()`` finds nothing wrong with the uvicorn and httptools installed. Anywhere
else, and whenever ``MOCKPANEL_HTTP=public`` is set, servers run uvicorn's own httptools protocol
behind the guard (_server/guard.py), on uvicorn's own listeners: the same answers, slower. The
choice is made once per process, when the first server is configured, and logged (logger
``mockpanel._server``, at info); ``http_path()`` tells it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import threading
from dataclasses import dataclass
from collections.abc import Iterable
from typing import Any

import uvicorn

from .hosts import LOOPBACK_ONLY, Hosts
from .own_answers import HEADER_LIMIT, KEEP_ALIVE, READ_TIMEOUT

LOG = logging.getLogger("mockpanel.server")
ENV = "MOCKPANEL_HTTP"  # "public": never the direct path


@dataclass(frozen=True)
class HttpPath:
    """Which path this process's servers take, and why."""

    direct: bool
    reason: str

    def __str__(self) -> str:
        path = "the direct path" if self.direct else "uvicorn's public path"
        return f"{path} ({self.reason})"


_chosen: HttpPath | None = None
_lock = threading.Lock()


def http_path() -> HttpPath:
    """The path this process's servers take (checked on the first call, then kept)."""
    global _chosen
    with _lock:
        if _chosen is None:
            _chosen = _choose()
            LOG.info("HTTP: %s", _chosen)
        return _chosen


def _choose() -> HttpPath:
    if os.environ.get(ENV, "").strip().lower() == "public":
        return HttpPath(False, f"{ENV}=public")
    try:
        from .._server import protocol  # every use of uvicorn's internals: it may not even import
    except Exception as exc:
        return HttpPath(False, f"_server/protocol.py does not import: {type(exc).__name__}: {exc}")
    reason = protocol.unsupported()
    if reason is not None:
        return HttpPath(False, reason)
    version = importlib.metadata.version
    return HttpPath(True, f"uvicorn {version('uvicorn')}, httptools {version('httptools')}")


def server_options(*, direct: bool | None = None, header_limit: int = HEADER_LIMIT, read_timeout: float = READ_TIMEOUT,
                   allow_hosts: Iterable[str] = (), **overrides: Any) -> dict[str, Any]:
    """uvicorn.Config options every mockpanel server uses (``mockpanel serve``, the pytest hub, the
    proxy): the HTTP protocol of ``http_path()``, or of the path ``direct`` says (tests), with these
    limits, answering loopback names, its own address and ``allow_hosts`` (hosts.py); ``overrides``
    are uvicorn's own options."""
    if direct is None:
        direct = http_path().direct
    keep_alive = overrides.get("timeout_keep_alive", KEEP_ALIVE)
    hosts = Hosts(allow_hosts) if allow_hosts else LOOPBACK_ONLY
    http: type[Any]
    if direct:
        from .protocol import protocol_class

        http = protocol_class(header_limit=header_limit, read_timeout=read_timeout, hosts=hosts)
    else:
        from .guard import guarded_class

        http = guarded_class(header_limit=header_limit, read_timeout=read_timeout, keep_alive=keep_alive, hosts=hosts)
    options: dict[str, Any] = dict(
        http=http, access_log=False, server_header=False, date_header=False,
        timeout_keep_alive=KEEP_ALIVE, h11_max_incomplete_event_size=HEADER_LIMIT,
    )
    options.update(overrides)
    return options


def server(config: uvicorn.Config) -> uvicorn.Server:
    """The server for ``config``: the direct path's (with its listeners) when its protocol serves, else uvicorn's."""
    if getattr(config.http, "direct_path", False):
        from .protocol import PanelServer

        return PanelServer(config)
    return uvicorn.Server(config)
